"""The texts the golden tokenizer tests encode: hand-picked edge cases plus seeded random mixtures (deterministic:
the same list on every run). Imported by make_golden.py."""
import random

HAND = [
    # empty, single characters, whitespace of every kind
    "", " ", "  ", "   ", "\t", "\n", "\r", "\r\n", "\n\n", "\n\n\n", " \n", "\n ", " \n ", "\t\t", " \t ", "\x0b", "\x0c",
    "a b", "a  b", "a   b", "a\tb", "a\t\tb", "a\nb", "a\n\nb", "a\r\nb", "a \n b", "a\n \nb", "  leading", "trailing  ",
    "trailing\n", " both ", "\u00a0nbsp\u00a0", "ideographic\u3000space", "line\u2028sep", "para\u2029sep",
    "nel\x85x", "\x1c\x1d\x1e\x1f", "mongolian\u180evs", "zero\u200bwidth", "en\u2002em\u2003thin\u2009",
    "tab\tin\tthe\tmiddle", "    indented four", "\t\tindented tabs", "x \t \n y",
    # English prose
    "Hello world", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
    "It was the best of times, it was the worst of times.", "To be, or not to be, that is the question:",
    "Mr. Smith's dog didn't bark; it's fine.", "Don't stop! We'll see. They've gone. I'd say you're right.",
    "I'M LOUD. YOU'RE LOUD. IT'S LOUD. WE'LL SEE. THEY'VE GONE. I'D KNOW.", "'s 't 're 've 'm 'll 'd",
    "'S 'T 'RE 'VE 'M 'LL 'D", "rock'n'roll", "'quoted'", "\"double quoted\"", "it\u2019s curly", "'\u017f long s",
    "O'Neil's", "''", "'", "a'", "'a", "'123", "'\u017ft faſt", "ABC'S x'RE y'Ll", "'ſtrong' 'Ve", "12'34",
    "abc bc ab abcabc xabc", "the ther there thou art", "qaqbq qq aq-bq", "a-b--c---d", "a.b..c. .d", "hello [MASK] x",
    "[MASK]hello", "x[MASK]", "  [MASK]  abc  ", "thou-art and-the", "unknown ZZZ chars 123",
    "a b a b the a bthe ea b", ("a b " * 100) + "the", "th e", "x th e y", "ath e", "th ea", "th e<unk>th e",
    "e.g. i.e. etc. U.S.A.", "Hello...world???!!!", "(parenthesised) [bracketed] {braced} <angled>",
    "email@example.com https://example.org/path?q=1&r=2#frag", "snake_case camelCase PascalCase kebab-case",
    "ALL CAPS SENTENCE", "MiXeD cAsE", "x", "xyzzy", "a1b2c3", "abc123def", "100%", "$5.99", "#hashtag @mention",
    # numbers
    "0", "12", "123", "1234", "12345", "1234567890", "3.14159", "1,000,000", "-42", "+7", "1e10", "0x1F",
    "2024-01-15", "12:30:45", "\u0661\u0662\u0663", "\u00b2\u00b3", "\u216b", "\u00bd", "\u0967\u0968\u0969",
    "9999999999999999", "a123456b", " 123 456 ", "1 2 3 4 5",
    # code
    "def f(x):\n    return x * 2\n", "int main() {\n\treturn 0;\n}\n", "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "if x == 1:\n    pass\nelif x != 2:\n        pass", '{"key": "value", "n": [1, 2, 3]}', "<html><body>hi</body></html>",
    "SELECT * FROM users WHERE id = 42;", "#include <stdio.h>", "x => x + 1", "a && b || !c", "a->b::c", "i++; j--;",
    "    \n    \n", "\t\n\t\n", "```python\nprint('hi')\n```",
    # accents, combining marks
    "Caf\u00e9 d\u00e9j\u00e0 vu", "Cafe\u0301", "na\u00efve co\u00f6perate", "\u00c5ngstr\u00f6m", "Z\u0351\u0352a\u0353l\u0354g\u0355o",
    "e\u0301\u0302\u0303", "\u00df stra\u00dfe", "\u0130stanbul", "\u0131", "\u00e6\u00f8\u00e5", "Vi\u1ec7t Nam",
    # scripts
    "\u4f60\u597d\u4e16\u754c", "\u4f60\u597d\uff0c\u4e16\u754c\uff01", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "\u3072\u3089\u304c\u306a \u30ab\u30bf\u30ab\u30ca", "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd", "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e0a\u0e32\u0e27\u0e42\u0e25\u0e01",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!", "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5", "\u10d2\u10d0\u10db\u10d0\u10e0\u10ef\u10dd\u10d1\u10d0",
    "\u0540\u0561\u0575\u0565\u0580\u0565\u0576", "\u12a0\u121b\u122d\u129b", "\u1798\u17d2\u1793\u17b6", "mixed \u4e2d\u6587 and English",
    "\u4e2d\u6587123\u6570\u5b57", "\U00020000\U0002a6d6", "\U0001d400\U0001d401 math bold",
    # emoji
    "\U0001f600", "\U0001f600\U0001f601\U0001f602", "I \u2764\ufe0f NY", "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family",
    "\U0001f44d\U0001f3fd", "\U0001f1ef\U0001f1f5\U0001f1fa\U0001f1f8", "1\ufe0f\u20e3", "\U0001f3f3\ufe0f\u200d\U0001f308",
    "emoji\U0001f389in\U0001f389words", " \U0001f680 ", "\u2603\u2604\u2605", "\U0001f9d1\u200d\U0001f4bb coder",
    # special-token look-alikes typed by users
    "<s>", "</s>", "<unk>", "<s>hello</s>", "Hello <s> world", "a</s>b", "</s></s>", "<<s>>", "< s >", "<s", "s>",
    "<|endoftext|>", "text<|endoftext|>more", "<|begin_of_text|>Hi", "<|end_of_text|>", "<|eot_id|>", "<|eot_id|><|eot_id|>",
    "<|im_start|>user\nhi<|im_end|>", "<0x41>", "<0x0A>", "<0xZZ>", "[SEP]", "a [SEP] b", "[SEP]  b", "<mask>", "a <mask>",
    "a   <mask>b", " <mask> ", "<mask><mask>", "thou art", " thou art", "What thou art!", "thou artful", "verily",
    "verily!", "xverily", "verilyx", " verily ", "averily b", "<|begin_of_text|><|eot_id|>", "\u2581", "\u2581\u2581x", "\u0120x",
    "\u2581Hello\u2581world",
]

# Excerpts of tinyshakespeare, as (first line, number of lines): the corpus lives in ../shared/data and is never
# copied into the repository; the goldens refer to these excerpts by byte offset and length.
SHAKESPEARE_LINE_SPANS = [(0, 2), (15, 2), (18, 3), (86, 4), (9854, 3), (15876, 2)]

POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
    " " * 6 + "\t\n\r",
    ".,;:!?'\"()[]{}<>-_/\\|@#$%^&*+=~`",
    "\u00e9\u00e8\u00fc\u00f1\u00e7\u00df\u00f8\u00e5",
    "\u4e00\u4e8c\u4e09\u4eba\u5927\u4e2d\u56fd\u65e5\u672c\u3042\u3044\u3046\u30a2\u30a4",
    "\U0001f600\U0001f44d\U0001f3fd\u2764\ufe0f\u200d\U0001f525",
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629\u0928\u092e\u0938\u094d\u0924\u0947",
    "\u0301\u0308\u0327",
    "\u00a0\u3000\u2028\u0085",
]
WORDS = ["the", "and", "thou", "art", "<s>", "</s>", "<|endoftext|>", "<|eot_id|>", "<mask>", "[SEP]", "verily",
         " thou art", "'s", "'LL", "\u2581", "<0x41>", "hello", "world", "12345"]


def random_texts(n: int, seed: int = 1234) -> list:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.3:
                parts.append(rng.choice(WORDS))
            else:
                pool = rng.choice(POOLS)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))))
        out.append("".join(parts))
    return out


def long_texts() -> list:
    return [
        "a" * 3000, "ab" * 1000, "supercalifragilistic" * 60, " " * 500, "\n" * 300, "\t" * 100 + "x",
        "\U0001f600" * 200, "\u4f60" * 500, "1" * 1000, "." * 700, "x " * 500, "Hello world! " * 100,
        "a" * 300 + " " + "b" * 300, " " * 50 + "word" + " " * 50,
    ]


def corpus_excerpts(corpus: str) -> list:
    """Short line spans and a few paragraphs from different parts of the corpus."""
    lines = corpus.split("\n")
    out = ["\n".join(lines[first:first + n]) for first, n in SHAKESPEARE_LINE_SPANS]
    paras = corpus.split("\n\n")
    for i in range(0, len(paras), max(1, len(paras) // 20)):
        out.append(paras[i])
    return out


def all_texts(shakespeare_path: str = None) -> list:
    texts = list(HAND) + long_texts() + random_texts(150)
    if shakespeare_path:
        with open(shakespeare_path, encoding="utf-8") as f:
            texts += corpus_excerpts(f.read())
    seen, unique = set(), []
    for t in texts:
        if t not in seen:
            seen.add(t)
            unique.append(t)
    return unique


def training_extra(seed: int = 99) -> list:
    """Extra training lines for the small HF test vocabs, so that their merges cover digits, code, accents, CJK,
    emoji and upper-case contractions: then a wrong split or merge order changes the ids and the golden test
    notices (with Shakespeare alone, digits never merge and many split mistakes would be invisible)."""
    rng = random.Random(seed)
    lines = []
    for _ in range(6000):
        kind = rng.randrange(6)
        if kind == 0:
            lines.append(" ".join(rng.choice(["1", "12", "123", "1234", "12345", "123456", "2024", "1000", "42",
                                              "365", "3.14", "99", "007", "1,000", str(rng.randrange(1000))])
                                  for _ in range(rng.randint(2, 8))))
        elif kind == 1:
            lines.append(rng.choice(["def f(x):\n    return x + 1", "for (int i = 0; i < n; ++i) {\n\tsum += i;\n}",
                                     "if a == b and c != d:\n        pass", "x = [1, 2, 3]  # list",
                                     "return {\"key\": value};", "    \n\t\n  \r\n"]))
        elif kind == 2:
            lines.append(" ".join(rng.choice(["I'M", "YOU'RE", "IT'S", "WE'LL", "THEY'VE", "I'D", "DON'T", "'ſt",
                                              "faſt", "ſtrong", "ſo", "Café", "déjà", "naïve", "straße", "Việt"])
                                  for _ in range(6)))
        elif kind == 3:
            pool = POOLS[5] + POOLS[7]
            lines.append("".join(rng.choice(pool) for _ in range(rng.randint(4, 20))))
        elif kind == 4:
            lines.append(" ".join(rng.choice(["\U0001f600", "\U0001f44d\U0001f3fd", "\u2764\ufe0f", "\U0001f525"])
                                  for _ in range(rng.randint(1, 6))))
        else:
            lines.append("".join(rng.choice(POOLS[2] + POOLS[3]) for _ in range(rng.randint(3, 12))))
    return lines
