"""Sentences for training and evaluating the audio-to-mouth model, generated from a seed.

English sentences are built from a small news-flavoured vocabulary with a few templates;
Mandarin ones from common characters; other languages from pseudo-words (random syllables
read by espeak's letter-to-sound rules), which is all phonetic coverage needs. A sentence's
split (train or held-out) is fixed by a hash of its text, so held-out sentences never leak
into training whatever the seed; `HELD_OUT_SENTENCES` are extra real sentences for evaluation only.
"""

from __future__ import annotations

import hashlib

import numpy as np

_NOUNS = """government minister council city police report market price week year morning evening
weather storm rain river bridge road school teacher student child family doctor hospital museum
festival concert team player match goal coach election vote result budget company worker factory
bank money plan law court judge crowd street village farmer harvest summer winter airport flight
train station ship harbour island mountain forest fire smoke water power energy oil gas car bus
bicycle phone computer network story news paper book picture film music song voice moment number
people woman man president mayor officer scientist study space moon planet rocket beach garden""".split()
_VERBS = """announced reported opened closed reached moved changed raised cut built saw found lost won
visited promised expected warned asked said told showed brought kept started finished joined left
helped planned checked watched approved rejected measured launched carried caught passed""".split()
_ADJ = """new old big small local national early late quiet busy strong weak cold warm bright dark
public private major popular famous young heavy light fresh rapid slow clear simple happy""".split()
_ADV = """today yesterday again quickly slowly early later soon finally recently nearly openly""".split()
_NUM = """two three four five six seven eight nine ten twelve twenty thirty fifty hundred""".split()
_TEMPLATES = (
    "The {adj} {noun} {verb} the {noun2} {adv}.",
    "{Num} {adj} {noun}s {verb} a {noun2} in the {noun3}.",
    "A {noun} from the {adj} {noun2} {verb} {num} {noun3}s.",
    "Why has the {noun} {verb} the {adj} {noun2}?",
    "Officials {verb} that the {noun} will be {adj} by the {noun2}.",
    "The {noun}, which {verb} the {noun2}, is {adj} and {adj2}.",
    "Before the {noun} {verb}, {num} {noun2}s were {adj}.",
    "Good {tod}, the {noun} {verb} the {adj} {noun2} {adv}.",
)
_ZH_CHARS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"
    "面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去"
    "把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但"
    "质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式"
    "活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回"
    "则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清美"
    "再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元"
    "况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委"
    "素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江"
    "型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严龙飞新闻今天晚上欢迎收看"
)
_SYLLABLES = """ba be bi bo bu da de di do du fa fe fi fo fu ga ge go gu ka ke ki ko ku la le li lo lu ma me mi
mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo wa we
za zo cha che sha sho tra tre pla plo bra bri mon man sin son tan ten lor lar mis mas nel vil""".split()

HELD_OUT_SENTENCES = {
    "en": (
        "Good evening, and welcome to the late news.",
        "Heavy rain closed the coastal highway for most of the afternoon.",
        "The central bank kept interest rates unchanged on Thursday.",
        "Thousands of people queued outside the stadium before the final.",
        "Scientists say the comet will be visible without a telescope next month.",
        "Peter Piper picked a peck of pickled peppers.",
        "Would you like to hear the full weather forecast for the weekend?",
        "Members of parliament voted to approve the new budget by a narrow margin.",
    ),
    "zh": (
        "晚上好，欢迎收看今天的新闻。",
        "今天上午，北京下了一场大雨。",
        "科学家说，这颗彗星下个月可以看到。",
        "明天的天气晴朗，气温比较高。",
    ),
}
"""Real sentences never used in training (the held-out sentence set for evaluation)."""


def is_held_out(text: str) -> bool:
    """A fixed ~15 % of generated sentences belong to the held-out split (by a hash of the text)."""
    return hashlib.sha1(text.encode("utf-8")).digest()[0] < 38


def english_sentence(rng: np.random.Generator) -> str:
    def pick(words: list[str]) -> str:
        return str(words[rng.integers(len(words))])

    num = pick(_NUM)
    t = str(_TEMPLATES[rng.integers(len(_TEMPLATES))])
    return t.format(
        adj=pick(_ADJ), adj2=pick(_ADJ), noun=pick(_NOUNS), noun2=pick(_NOUNS), noun3=pick(_NOUNS),
        verb=pick(_VERBS), adv=pick(_ADV), num=num, Num=num.capitalize(),
        tod=("morning", "evening", "afternoon")[rng.integers(3)],
    )  # fmt: skip


def mandarin_sentence(rng: np.random.Generator) -> str:
    n = int(rng.integers(6, 16))
    chars = [_ZH_CHARS[i] for i in rng.integers(0, len(_ZH_CHARS), n)]
    if n > 9:
        chars.insert(int(rng.integers(3, n - 3)), "，")
    return "".join(chars) + "。"


def pseudo_sentence(rng: np.random.Generator) -> str:
    words = []
    for _ in range(int(rng.integers(4, 9))):
        word = "".join(str(_SYLLABLES[i]) for i in rng.integers(0, len(_SYLLABLES), int(rng.integers(1, 4))))
        words.append(word)
    return " ".join(words).capitalize() + "."


def sentences(kind: str, n: int, rng: np.random.Generator, *, held_out: bool) -> list[str]:
    """`n` distinct generated sentences of `kind` ("en", "zh" or "pseudo") from the chosen split."""
    make = {"en": english_sentence, "zh": mandarin_sentence, "pseudo": pseudo_sentence}[kind]
    out: list[str] = []
    seen: set[str] = set()
    for _ in range(n * 50):
        s = make(rng)
        if s not in seen and is_held_out(s) == held_out:
            seen.add(s)
            out.append(s)
            if len(out) == n:
                break
    return out
