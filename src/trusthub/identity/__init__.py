"""Who this citizen is and how sure we are: citizens, identity proofing and sign-in."""
