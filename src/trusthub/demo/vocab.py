"""Word lists the demo world draws from, ordered most common first so a rank skew looks British.

Everything here is plain data: common UK given names by birth era and sex, common surnames,
short forms of given names, street names, and real towns with their real postcode areas and a
few real districts. Organisations, employers and people built from these lists are fictional.
All strings are ASCII without quotes or backslashes, so they can go into JSON and CSV unescaped
(the test suite checks this).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _phrases(text: str) -> tuple[str, ...]:
    """Comma-separated phrases; a phrase may wrap across lines."""
    return tuple(" ".join(part.split()) for part in text.split(","))


def _pairs(text: str) -> dict[str, str]:
    """``Long:Short`` pairs separated by white space."""
    return dict(pair.split(":", 1) for pair in text.split())


# Given names by birth era: (born before 1960, 1960-1989, 1990 onwards), most common first.
FEMALE_GIVEN_NAMES: tuple[tuple[str, ...], ...] = tuple(
    _words(era)
    for era in (
        """
        Margaret Patricia Mary Susan Elizabeth Jean Christine Linda Janet Barbara Ann Joan
        Sandra Pamela Carol Jennifer Valerie Sheila Dorothy Kathleen Brenda Maureen Irene Doreen
        Betty Joyce Eileen Gillian Shirley Marion Sylvia Jacqueline Rosemary Elaine Judith Hazel
        Audrey Beryl Catherine Frances Veronica Anne Wendy Diane Gwendoline Marjorie Edna Iris
        Muriel Gladys Winifred Vera Rita Norma Lilian Hilda Josephine Teresa Yvonne Bernadette
        """,
        """
        Sarah Claire Nicola Emma Lisa Joanne Michelle Helen Samantha Karen Amanda Rachel Louise
        Julie Clare Rebecca Sharon Victoria Caroline Laura Kelly Deborah Elizabeth Jennifer
        Tracey Catherine Alison Natalie Donna Lorraine Joanna Katherine Kerry Angela Dawn Gemma
        Zoe Jacqueline Suzanne Andrea Fiona Emily Hayley Stephanie Melanie Lucy Anna Jane Kirsty
        Charlotte Ruth Tanya Wendy Paula Jill Sally Carly Leanne Jessica Nadia
        """,
        """
        Olivia Amelia Emily Isla Ava Jessica Sophie Chloe Lily Grace Ella Mia Isabella Charlotte
        Poppy Evie Hannah Lucy Freya Ruby Holly Megan Lauren Katie Amy Ellie Sophia Georgia
        Abigail Florence Daisy Millie Phoebe Rosie Scarlett Erin Eleanor Alice Matilda Zara
        Aisha Maryam Fatima Layla Zainab Amira Maja Zuzanna Priya Harriet Imogen Niamh Aoife
        Caitlin Bethany Rebecca Victoria Samantha Jasmine Leah
        """,
    )
)
MALE_GIVEN_NAMES: tuple[tuple[str, ...], ...] = tuple(
    _words(era)
    for era in (
        """
        John David Michael Peter Robert William James Brian Anthony Alan Kenneth Richard George
        Thomas Ronald Christopher Stephen Derek Roy Keith Raymond Terence Dennis Geoffrey
        Frederick Leonard Harold Arthur Albert Ernest Frank Gordon Donald Colin Malcolm Trevor
        Barry Graham Philip Roger Eric Stanley Charles Edward Joseph Francis Patrick Douglas
        Norman Leslie Walter Gerald Bernard Clifford Dennis Alfred Henry Reginald Cyril Sidney
        """,
        """
        David Paul Andrew Mark Michael James Richard Christopher Stephen Daniel Matthew Robert
        Simon Darren Lee Jason Craig Gary Ian Neil Peter Martin Steven Anthony Jonathan Thomas
        Kevin Wayne Adam Scott Carl Benjamin Nicholas Timothy Philip Stuart Dean Gareth
        Alexander Shaun Marc Ryan Dominic Edward Graham Jamie Russell Kieran Nathan Samuel
        Joseph William John Sean Gregory Imran Rajesh Mohammed Tomasz Owen
        """,
        """
        Oliver Jack Harry George Noah Charlie Jacob Alfie Freddie Oscar Leo Thomas William James
        Joshua Daniel Samuel Joseph Benjamin Lewis Callum Ethan Luke Mohammed Muhammad Arthur
        Henry Archie Theo Isaac Max Logan Lucas Finley Alexander Ryan Liam Connor Matthew Adam
        Dylan Tyler Reuben Rory Aaron Jayden Yusuf Ibrahim Ali Omar Jakub Filip Arjun Rohan Cian
        Ewan Owen Elliot Sebastian Edward
        """,
    )
)
GIVEN_NAME_ERA_STARTS = (1900, 1960, 1990)
"""First birth year of each era in the given-name lists above."""

SURNAMES: tuple[str, ...] = _words(
    """
    Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
    Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson
    Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen
    James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook
    Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson
    Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali
    Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell
    Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur
    Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks
    West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth
    Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster
    Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland
    Hawkins Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah
    Dean Lane Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross
    Cross Long Freeman Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson
    Curtis Hopkins O'Connor Harper Coleman Watkins Moss McCarthy Chambers O'Neill Griffin Sharp
    Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace George Jordan Hutchinson Rowe
    Burke May Pritchard Gilbert Willis Higgins Read Miles Stevenson Stephenson Hammond Arnold
    Buckley Walters Hewitt Barber Nelson Slater Austin Sullivan Whitehead Mann Frost Lambert
    Stephens Blake Akhtar Lynch Goodwin Barton Woodward Thomson Cunningham Quinn Barnett Baxter
    Bibi Clayton Nash Greenwood Jennings Holt Kemp Poole Gallagher Bond Stokes Tucker Davidson
    Fowler Heath Norman Middleton Lawson Banks French Stanley Jarvis Gibbs Ferguson Hayward
    Carroll Douglas Dickinson Todd Barlow Peters Lucas Knowles Hartley Miah Simmons Morton
    Alexander Field Morrison Norris Townsend Preston Hancock Thornton Baldwin Burrows Briggs
    Storey Pugh Little Rahman MacDonald MacKenzie McLean Nowak Kowalski Wisniewski Sharma
    Chowdhury Islam Okafor Mensah Nguyen Wong Chen Smith-Jones Fitzgerald Llewellyn Pryce
    Vaughan
    """
)

NICKNAMES: dict[str, str] = _pairs(
    """
    Robert:Bob William:Bill Elizabeth:Liz Margaret:Maggie Richard:Rich James:Jim Michael:Mike
    Thomas:Tom Christopher:Chris Katherine:Kate Catherine:Cathy Jennifer:Jenny Alexander:Alex
    Samuel:Sam Daniel:Dan Matthew:Matt Anthony:Tony Joseph:Joe Edward:Ed Stephen:Steve
    Steven:Steve Nicholas:Nick Jonathan:Jon Benjamin:Ben Patricia:Pat Susan:Sue Deborah:Debbie
    Rebecca:Becky Victoria:Vicky Samantha:Sam Charlotte:Lottie Abigail:Abbie Christine:Chris
    Dorothy:Dot Frances:Fran Jacqueline:Jackie Kenneth:Ken Leonard:Len Ronald:Ron Donald:Don
    Gerald:Gerry Peter:Pete David:Dave Andrew:Andy Timothy:Tim Philip:Phil Gregory:Greg
    Frederick:Fred Albert:Bert Harold:Harry Henry:Harry Joshua:Josh Oliver:Ollie Alfred:Alf
    Isabella:Bella Barbara:Babs Josephine:Jo Joanne:Jo Gillian:Gill Pamela:Pam Valerie:Val
    Sandra:Sandy Bernard:Bernie Raymond:Ray Terence:Terry Geoffrey:Geoff Reginald:Reg
    Stanley:Stan Charles:Charlie Douglas:Doug Francis:Frank Patrick:Pat Leslie:Les Walter:Wally
    Sidney:Sid Clifford:Cliff Malcolm:Mal Nathan:Nate Jessica:Jess Stephanie:Steph Natalie:Nat
    Eleanor:Ellie Florence:Flo Harriet:Hattie Amanda:Mandy Caroline:Carrie Suzanne:Sue
    Jasmine:Jas Mohammed:Mo Muhammad:Mo Zuzanna:Zuza Tomasz:Tom Jakub:Kuba Dominic:Dom
    Russell:Russ Gareth:Gaz Sebastian:Seb Rosemary:Rosie Winifred:Winnie
    """
)

STREET_NAMES: tuple[str, ...] = _phrases(
    """
    High Street, Station Road, Church Street, Park Road, Victoria Road, Green Lane, Manor Road,
    Church Lane, Park Avenue, The Avenue, The Crescent, Queens Road, New Road, Grange Road,
    Kings Road, Kingsway, Windsor Road, Highfield Road, Mill Lane, Alexandra Road, York Road,
    Main Street, Springfield Road, George Street, Albert Road, Stanley Road, Chester Road, North
    Street, Brook Lane, School Lane, London Road, Victoria Street, Richmond Road, Mill Road,
    Grove Road, Princes Street, Westfield Road, Broadway, Cedar Avenue, Beech Grove, Oak Road,
    Elm Grove, Willow Close, Ash Grove, Orchard Way, Meadow Way, Rectory Lane, Hawthorn Road,
    Cromwell Road, Nelson Street, Queen Street, King Street, West Street, South Street, East
    Street, Market Street, Bridge Street, Castle Street, Water Lane, Marsh Lane, Moor Lane, Hill
    Street, Church Road, Station Street, Chapel Street, Spring Gardens, Harrow Road, Lime
    Street, Linden Avenue, Fairfield Road, Belmont Road, Clarence Street, Wellington Road,
    Waterloo Road, Trafalgar Street, Mount Pleasant, Poplar Avenue, Sycamore Close, Holly Road,
    Laburnum Grove, Rowan Drive, Chestnut Avenue, Birch Road, Heather Close, Primrose Lane,
    Riverside, Canal Street, Quarry Lane, Farm Road, Lodge Lane, Abbey Road, Priory Road, St
    Johns Road, St Marys Road, Hillside Avenue, Valley Road, Woodland Road, Forest Road, Meadow
    Road, Sandy Lane, Cherry Tree Road
    """
)


@dataclass(frozen=True, slots=True)
class Town:
    """A real town with its real postcode area and some of its real postcode districts."""

    name: str
    districts: tuple[str, ...]
    weight: float
    country: str = "England"

    @property
    def area(self) -> str:
        first = self.districts[0]
        return first[:2] if first[1].isalpha() else first[:1]


COUNCIL_TOWNS = ("Huddersfield", "Halifax")
"""The demo council's area: its records cover the adults whose current address is here."""

TOWNS: tuple[Town, ...] = (
    Town("Islington", ("N1", "N5", "N7", "N19"), 5.0),
    Town("Hackney", ("E5", "E8", "E9"), 5.0),
    Town("Camden", ("NW1", "NW3", "NW5"), 4.5),
    Town("Lambeth", ("SE11", "SE24", "SE27"), 5.0),
    Town("Westminster", ("SW1P", "SW1V", "SW1W"), 4.0),
    Town("Ealing", ("W5", "W7", "W13"), 5.0),
    Town("Croydon", ("CR0", "CR2", "CR7"), 6.0),
    Town("Kingston upon Thames", ("KT1", "KT2", "KT6"), 3.0),
    Town("Birmingham", ("B13", "B15", "B23", "B29", "B44"), 11.0),
    Town("Manchester", ("M14", "M20", "M21", "M40"), 9.0),
    Town("Leeds", ("LS6", "LS8", "LS11", "LS17"), 8.0),
    Town("Sheffield", ("S7", "S10", "S11", "S35"), 6.0),
    Town("Liverpool", ("L15", "L17", "L18", "L25"), 5.5),
    Town("Bristol", ("BS3", "BS6", "BS7", "BS16"), 5.5),
    Town("Newcastle upon Tyne", ("NE2", "NE4", "NE6"), 3.5),
    Town("Nottingham", ("NG5", "NG7", "NG9"), 4.0),
    Town("Leicester", ("LE2", "LE3", "LE5"), 4.0),
    Town("Coventry", ("CV1", "CV5", "CV6"), 3.5),
    Town("Bradford", ("BD3", "BD9", "BD10"), 3.5),
    Town("Huddersfield", ("HD1", "HD2", "HD3", "HD4", "HD5"), 12.0),
    Town("Halifax", ("HX1", "HX2", "HX3"), 11.0),
    Town("Wakefield", ("WF1", "WF2"), 2.0),
    Town("Hull", ("HU3", "HU5", "HU8"), 2.5),
    Town("York", ("YO10", "YO24", "YO31"), 2.0),
    Town("Harrogate", ("HG1", "HG2"), 1.0),
    Town("Doncaster", ("DN1", "DN4"), 2.0),
    Town("Stoke-on-Trent", ("ST4", "ST6"), 2.5),
    Town("Derby", ("DE1", "DE22", "DE23"), 2.5),
    Town("Lincoln", ("LN1", "LN2"), 1.0),
    Town("Norwich", ("NR2", "NR3"), 1.5),
    Town("Ipswich", ("IP1", "IP4"), 1.5),
    Town("Cambridge", ("CB1", "CB4"), 1.5),
    Town("Peterborough", ("PE1", "PE4"), 2.0),
    Town("Colchester", ("CO1", "CO3"), 1.5),
    Town("Chelmsford", ("CM1", "CM2"), 1.5),
    Town("Luton", ("LU1", "LU4"), 2.0),
    Town("Watford", ("WD17", "WD24"), 1.0),
    Town("Milton Keynes", ("MK9", "MK13"), 2.5),
    Town("Northampton", ("NN1", "NN3"), 2.0),
    Town("Oxford", ("OX1", "OX4"), 1.5),
    Town("Reading", ("RG1", "RG30"), 1.5),
    Town("Swindon", ("SN1", "SN25"), 2.0),
    Town("Southampton", ("SO15", "SO17"), 2.5),
    Town("Portsmouth", ("PO4", "PO5"), 2.0),
    Town("Brighton", ("BN1", "BN2"), 2.5),
    Town("Guildford", ("GU1", "GU2"), 1.0),
    Town("Canterbury", ("CT1", "CT2"), 1.0),
    Town("Maidstone", ("ME14", "ME15"), 1.5),
    Town("Salisbury", ("SP1", "SP2"), 0.5),
    Town("Bournemouth", ("BH1", "BH8"), 2.0),
    Town("Bath", ("BA1", "BA2"), 1.0),
    Town("Exeter", ("EX1", "EX4"), 1.2),
    Town("Plymouth", ("PL4", "PL6"), 2.5),
    Town("Torquay", ("TQ1", "TQ2"), 0.7),
    Town("Truro", ("TR1",), 0.3),
    Town("Taunton", ("TA1", "TA2"), 0.6),
    Town("Gloucester", ("GL1", "GL4"), 1.2),
    Town("Cheltenham", ("GL50", "GL51"), 1.1),
    Town("Worcester", ("WR1", "WR5"), 1.0),
    Town("Hereford", ("HR1", "HR4"), 0.6),
    Town("Shrewsbury", ("SY1", "SY3"), 0.7),
    Town("Telford", ("TF1", "TF3"), 1.5),
    Town("Wolverhampton", ("WV1", "WV6"), 2.5),
    Town("Chester", ("CH1", "CH2"), 0.8),
    Town("Warrington", ("WA1", "WA4"), 2.0),
    Town("Stockport", ("SK1", "SK4"), 2.5),
    Town("Oldham", ("OL1", "OL8"), 2.0),
    Town("Bolton", ("BL1", "BL3"), 2.5),
    Town("Wigan", ("WN1", "WN5"), 2.5),
    Town("Preston", ("PR1", "PR2"), 1.5),
    Town("Blackpool", ("FY1", "FY4"), 1.3),
    Town("Lancaster", ("LA1",), 0.5),
    Town("Carlisle", ("CA1", "CA2"), 0.7),
    Town("Sunderland", ("SR2", "SR4"), 2.5),
    Town("Durham", ("DH1",), 0.5),
    Town("Darlington", ("DL1", "DL3"), 1.0),
    Town("Middlesbrough", ("TS1", "TS5"), 1.4),
    Town("Cardiff", ("CF5", "CF14", "CF24"), 3.5, "Wales"),
    Town("Swansea", ("SA1", "SA2"), 2.2, "Wales"),
    Town("Newport", ("NP19", "NP20"), 1.4, "Wales"),
    Town("Wrexham", ("LL11", "LL13"), 1.3, "Wales"),
    Town("Glasgow", ("G12", "G31", "G41"), 6.0, "Scotland"),
    Town("Edinburgh", ("EH6", "EH10", "EH11"), 5.0, "Scotland"),
    Town("Aberdeen", ("AB10", "AB15"), 2.0, "Scotland"),
    Town("Dundee", ("DD2", "DD4"), 1.5, "Scotland"),
    Town("Inverness", ("IV2", "IV3"), 0.6, "Scotland"),
    Town("Belfast", ("BT5", "BT7", "BT9"), 3.0, "Northern Ireland"),
)

POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
"""Letters allowed in the last two places of a postcode: never C, I, K, M, O or V."""


def zipf_weights(count: int, offset: float = 15.0, exponent: float = 1.0) -> np.ndarray:
    """Rank-frequency weights: the first entry is the most common, as in real name tables."""
    ranks = np.arange(count, dtype=np.float64)
    weights: np.ndarray = 1.0 / (ranks + offset) ** exponent
    result: np.ndarray = weights / weights.sum()
    return result


def _unique(items: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


GIVEN_NAMES: tuple[str, ...] = _unique(
    [n for eras in (FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES) for era in eras for n in era]
)
"""Every given name once; people hold indices into this tuple until strings are needed."""

SHORT_FORMS: tuple[str, ...] = _unique(list(NICKNAMES.values()))
"""Every short form once, indexed by ``SHORT_FORM_OF``."""

_GIVEN_INDEX = {name: i for i, name in enumerate(GIVEN_NAMES)}
_SHORT_INDEX = {name: i for i, name in enumerate(SHORT_FORMS)}

SHORT_FORM_OF = np.array(
    [
        _SHORT_INDEX[NICKNAMES[n]] if n in NICKNAMES and NICKNAMES[n] != n else -1
        for n in GIVEN_NAMES
    ],
    dtype=np.int32,
)
"""For each given name's index, the index of its common short form, or -1 if it has none."""


def given_name_codes(sex: str, era: int) -> np.ndarray:
    """Indices into GIVEN_NAMES for one sex ("F" or "M") and era, most common first."""
    table = FEMALE_GIVEN_NAMES if sex == "F" else MALE_GIVEN_NAMES
    return np.array([_GIVEN_INDEX[n] for n in _unique(table[era])], dtype=np.int32)


SURNAME_LIST: tuple[str, ...] = _unique(SURNAMES)
