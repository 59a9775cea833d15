// Checking the ledger in the browser with WebCrypto only: RFC 9162 leaf and node hashes, the
// RFC 9162 §2.1.3.2 inclusion check, the citizen commitment (docs/ledger.md) and the C2SP
// signed-note checkpoint (Ed25519). Nothing here trusts the page that loaded it: every value is
// recomputed from what the public API serves.

const encoder = new TextEncoder();
export const COMMITMENT_DOMAIN = "trusthub/ledger/citizen-commitment/v1\n";

export function hexToBytes(hex) {
  if (typeof hex !== "string" || !/^([0-9a-f]{2})*$/.test(hex)) throw new Error("not lower-case hex");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function base64ToBytes(text) {
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

async function sha256(...parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const data = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    data.set(part, at);
    at += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

/** RFC 9162 §2.1.1: the hash of a leaf is SHA-256(0x00 ‖ leaf input). */
export function leafHash(leafInput) {
  return sha256(new Uint8Array([0]), leafInput);
}

/** RFC 9162 §2.1.1: an interior node is SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left, right) {
  return sha256(new Uint8Array([1]), left, right);
}

/** RFC 9162 §2.1.3.2, step by step: the root an inclusion path leads to, or null if it cannot. */
export async function rootFromInclusionProof(index, treeSize, hash, path) {
  let fn = BigInt(index);
  let sn = BigInt(treeSize) - 1n;
  if (fn > sn) return null;
  let r = hash;
  for (const p of path) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

export async function verifyInclusion(index, treeSize, hash, path, root) {
  const computed = await rootFromInclusionProof(index, treeSize, hash, path);
  return computed !== null && equalBytes(computed, root);
}

/** SHA-256(domain ‖ blinding ‖ citizen id): what the public entry holds instead of a name. */
export async function commitment(blindingHex, citizenId) {
  const digest = await sha256(
    encoder.encode(COMMITMENT_DOMAIN),
    hexToBytes(blindingHex),
    encoder.encode(String(citizenId)),
  );
  return bytesToHex(digest);
}

/** A C2SP checkpoint: origin, size and root from the note's text, and its signature lines. */
export function parseCheckpoint(note) {
  const split = note.indexOf("\n\n");
  if (split < 0) throw new Error("the checkpoint has no signature block");
  const text = note.slice(0, split + 1);
  const [origin, size, root] = text.split("\n");
  if (!/^[1-9][0-9]*$/.test(size)) throw new Error("the checkpoint's size is not a number");
  const signatures = note
    .slice(split + 2)
    .split("\n")
    .filter((line) => line.startsWith("\u2014 "))
    .map((line) => {
      const [name, sig] = line.slice(2).split(" ");
      return { name, signature: base64ToBytes(sig) };
    });
  return { text, origin, treeSize: Number(size), root: base64ToBytes(root), signatures };
}

/**
 * Check a checkpoint's Ed25519 signature against the published verifier keys
 * ("name+keyid+base64(0x01 ‖ key)"). Returns true, false, or null where the browser has no
 * Ed25519 in WebCrypto.
 */
export async function verifyCheckpointSignature(checkpoint, verifierKeys) {
  for (const vkey of verifierKeys) {
    const first = vkey.indexOf("+");
    const second = vkey.indexOf("+", first + 1);
    const [name, keyId, encoded] = [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
    const raw = base64ToBytes(encoded);
    if (raw[0] !== 1 || raw.length !== 33) continue;
    for (const line of checkpoint.signatures) {
      if (line.name !== name || bytesToHex(line.signature.slice(0, 4)) !== keyId) continue;
      let key;
      try {
        key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, [
          "verify",
        ]);
      } catch {
        return null;
      }
      const ok = await crypto.subtle.verify(
        { name: "Ed25519" },
        key,
        line.signature.slice(4),
        encoder.encode(checkpoint.text),
      );
      if (ok) return true;
    }
  }
  return false;
}

async function getJson(fetcher, url) {
  const answer = await fetcher(url, { headers: { Accept: "application/json" } });
  if (!answer.ok) throw new Error(`${url} answered ${answer.status}`);
  return answer.json();
}

/**
 * Verify one access from the public API alone. ``item`` = {index, position (or null), entryId,
 * commitment, blinding, citizen}. Returns {ok, signature, steps: [{check, ok}]}.
 */
export async function verifyAccess(item, fetcher = fetch) {
  const steps = [];
  const step = (check, ok) => {
    steps.push({ check, ok: Boolean(ok) });
    return Boolean(ok);
  };
  const answer = await fetcher("/ledger/v1/checkpoint");
  if (!answer.ok) throw new Error(`the checkpoint answered ${answer.status}`);
  const checkpoint = parseCheckpoint(await answer.text());
  const keys = await getJson(fetcher, "/ledger/v1/keys");
  const signature = await verifyCheckpointSignature(checkpoint, keys.keys);
  if (signature !== null) step("The ledger’s checkpoint is signed by its published key", signature);

  const mine = await commitment(item.blinding, item.citizen);
  step("The commitment is recomputed from your blinding value and citizen id", mine === item.commitment);

  const size = checkpoint.treeSize;
  let leafInput;
  let inclusion;
  if (item.position === null) {
    const entry = await getJson(fetcher, `/ledger/v1/entries/${item.index}`);
    leafInput = base64ToBytes(entry.leaf_input);
    inclusion = await getJson(fetcher, `/ledger/v1/proofs/inclusion?index=${item.index}&tree_size=${size}`);
    const decoded = JSON.parse(new TextDecoder().decode(leafInput));
    step("The entry is the one shown", decoded.id === item.entryId);
    step("The entry names you (by your commitment)", decoded.citizen === mine);
  } else {
    const proof = await getJson(
      fetcher,
      `/ledger/v1/proofs/record?index=${item.index}&position=${item.position}&tree_size=${size}`,
    );
    leafInput = base64ToBytes(proof.entry_leaf_input);
    inclusion = proof.inclusion;
    const decoded = JSON.parse(new TextDecoder().decode(leafInput));
    const recordInput = base64ToBytes(proof.record_input);
    const record = JSON.parse(new TextDecoder().decode(recordInput));
    step("The entry is the one shown", decoded.id === item.entryId);
    step("Your record in the entry names you (by your commitment)", record.citizen === mine);
    const recordOk = await verifyInclusion(
      item.position,
      decoded.records.count,
      await leafHash(recordInput),
      proof.record_path.map(hexToBytes),
      hexToBytes(decoded.records.root),
    );
    step("Your record is in the entry’s records (RFC 9162 proof)", recordOk);
  }
  const included = await verifyInclusion(
    item.index,
    size,
    await leafHash(leafInput),
    inclusion.inclusion_path.map(hexToBytes),
    checkpoint.root,
  );
  step(`The entry is in the signed ledger of ${size} entries (RFC 9162 proof)`, included);
  return { ok: steps.every((s) => s.ok), signature, steps };
}
