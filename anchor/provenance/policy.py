"""The content policy: every script is checked before anything is synthesised.

`ContentPolicy.check(text, language) -> PolicyDecision` with one of three outcomes:

- **refuse**: a block-list term, a first-person claim to be a protected real person ("I am
  <name>", "我是<name>"), or a flag from the moderation endpoint (`moderation_flagged`);
- **hold**: a review-list term, or a moderation endpoint that could not answer
  (`moderation_on_error`): an operator must approve the script before it airs;
- **allow**: none of these.

Lists are per language (`en`, `zh`, ...; `*` applies to all) and per category (violence,
sexual, hate, ...). Latin terms match whole words, case-insensitively, after Unicode
normalisation (NFKC + casefold; runs of spaces in a term match any whitespace); CJK terms
match as substrings. A script whose language is unknown is checked against every list.
The external check is any OpenAI-compatible `POST /v1/moderations`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from anchor.config import PolicySettings, TermLists
from anchor.errors import BackendError, InputError

log = logging.getLogger(__name__)

Outcome = Literal["allow", "hold", "refuse"]
_RANK: dict[Outcome, int] = {"allow": 0, "hold": 1, "refuse": 2}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")

IMPERSONATION_PATTERNS: dict[str, tuple[str, ...]] = {
    "en": (r"i\s+am", r"i'm", r"i’m", r"my\s+name\s+is", r"speaking\s+as", r"it's\s+me,?", r"it’s\s+me,?"),
    "zh": ("我是", "我叫", "我就是", "本人是", "本人就是"),
}
"""First-person phrases that, followed by a protected name, claim to be that person."""


@dataclass(frozen=True)
class PolicyMatch:
    """One rule that fired."""

    rule: Literal["block", "review", "impersonation", "moderation"]
    category: str
    term: str


@dataclass(frozen=True)
class PolicyDecision:
    """The policy's answer for one script."""

    outcome: Outcome
    reason: str
    matches: tuple[PolicyMatch, ...] = ()
    text_sha256: str = ""
    language: str | None = None
    policy: str = ""  # a short hash of the rules that decided, to tell decisions under old rules apart

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the as-run record and API answers."""
        d = asdict(self)
        d["matches"] = [asdict(m) for m in self.matches]
        return d


class PolicyRefused(InputError):
    """The content policy refused a script; `decision` says why."""

    def __init__(self, decision: PolicyDecision) -> None:
        super().__init__(f"refused by the content policy: {decision.reason}", field="text")
        self.decision = decision


def normalise(text: str) -> str:
    """NFKC + casefold, so full-width letters, ligatures and case do not hide a term."""
    return unicodedata.normalize("NFKC", text).casefold()


def _pattern(term: str) -> re.Pattern[str]:
    t = normalise(term).strip()
    if _CJK.search(t):
        return re.compile(re.escape(t))
    body = r"\s+".join(re.escape(w) for w in t.split())
    return re.compile(rf"(?<!\w){body}(?!\w)")


def _base_language(language: str | None) -> str | None:
    return language.replace("_", "-").split("-")[0].lower() if language else None


@dataclass
class _Rules:
    block: dict[str, list[tuple[str, str, re.Pattern[str]]]] = field(default_factory=dict)
    review: dict[str, list[tuple[str, str, re.Pattern[str]]]] = field(default_factory=dict)
    impersonation: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)


class ModerationClient:
    """An OpenAI-compatible moderation endpoint: POST {url}/v1/moderations {"model", "input"}."""

    def __init__(self, url: str, *, api_key: str = "", model: str = "omni-moderation-latest", timeout_s: float = 5.0):
        self.url = url.rstrip("/") + ("" if url.rstrip("/").endswith("/v1/moderations") else "/v1/moderations")
        self.api_key, self.model, self.timeout_s = api_key, model, timeout_s

    def flagged(self, text: str) -> list[str]:
        """The categories the endpoint flags (empty = not flagged); BackendError if it cannot answer."""
        from anchor.speech.http_client import fetch, json_request

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = fetch(
            json_request(self.url, {"model": self.model, "input": text}, headers),
            timeout_s=self.timeout_s,
            retries=0,
            server=f"moderation endpoint {self.url}",
        )
        try:
            result = json.loads(body)["results"][0]
            flagged = bool(result["flagged"])
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise BackendError(f"moderation endpoint {self.url} sent an answer without results[0].flagged") from e
        categories = [k for k, v in (result.get("categories") or {}).items() if v is True]
        return (categories or ["flagged"]) if flagged else []


class ContentPolicy:
    """Block / review lists per language, protected names, an optional moderation endpoint."""

    def __init__(
        self,
        block: TermLists | None = None,
        review: TermLists | None = None,
        protected_names: Sequence[str] = (),
        *,
        moderation: ModerationClient | None = None,
        moderation_flagged: Literal["hold", "refuse"] = "refuse",
        moderation_on_error: Outcome = "hold",
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self.moderation = moderation
        self.moderation_flagged: Outcome = moderation_flagged
        self.moderation_on_error: Outcome = moderation_on_error
        self._rules = _Rules()
        for lists, target in ((block or {}, self._rules.block), (review or {}, self._rules.review)):
            for language, categories in lists.items():
                for category, terms in categories.items():
                    for term in terms:
                        if term.strip():
                            target.setdefault(language.lower(), []).append((category, term, _pattern(term)))
        for name in protected_names:
            if name.strip():
                self._rules.impersonation.append((name, _name_pattern(name)))
        spec = json.dumps([block, review, sorted(protected_names), bool(moderation)], sort_keys=True, default=str)
        self.version = hashlib.sha256(spec.encode()).hexdigest()[:12]

    @classmethod
    def from_settings(cls, p: PolicySettings) -> ContentPolicy:
        """Build the policy from settings: the lists file merged with the inline lists."""
        block: TermLists = {}
        review: TermLists = {}
        names: list[str] = []
        if p.lists_file is not None:
            data = _read_lists(Path(p.lists_file))
            block, review, names = data.get("block", {}), data.get("review", {}), list(data.get("protected_names", []))
        block = _merge(block, p.block)
        review = _merge(review, p.review)
        moderation = None
        if p.moderation_url:
            moderation = ModerationClient(
                p.moderation_url,
                api_key=p.moderation_api_key,
                model=p.moderation_model,
                timeout_s=p.moderation_timeout_s,
            )
        return cls(
            block,
            review,
            [*names, *p.protected_names],
            moderation=moderation,
            moderation_flagged=p.moderation_flagged,
            moderation_on_error=p.moderation_on_error,
            enabled=p.enabled,
        )

    def check(self, text: str, language: str | None = None) -> PolicyDecision:
        """Decide on one script (the whole text of a clip, story or queue item)."""
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if not self.enabled:
            return PolicyDecision("allow", "content policy disabled", (), digest, language, self.version)
        norm = normalise(text)
        lang = _base_language(language)
        matches: list[PolicyMatch] = []
        for rule, table in (("block", self._rules.block), ("review", self._rules.review)):
            for key, entries in table.items():
                if key != "*" and lang is not None and key != lang:
                    continue
                for category, term, pattern in entries:
                    if pattern.search(norm):
                        matches.append(PolicyMatch(rule, category, term))  # type: ignore[arg-type]
        for name, pattern in self._rules.impersonation:
            if pattern.search(norm):
                matches.append(PolicyMatch("impersonation", "impersonation", name))
        outcome: Outcome = "allow"
        reasons: list[str] = []
        for m in matches:
            o: Outcome = "hold" if m.rule == "review" else "refuse"
            outcome = max(outcome, o, key=_RANK.__getitem__)
            what = f"claims to be {m.term}" if m.rule == "impersonation" else f"{m.category}: {m.term!r}"
            reasons.append(f"{'needs review' if o == 'hold' else 'blocked'} ({what})")
        if self.moderation is not None and outcome != "refuse":
            try:
                flagged = self.moderation.flagged(text)
            except BackendError as e:
                log.warning("moderation check failed: %s", e)
                outcome = max(outcome, self.moderation_on_error, key=_RANK.__getitem__)
                reasons.append(f"moderation endpoint unavailable ({e}): {self.moderation_on_error}")
            else:
                for category in flagged:
                    matches.append(PolicyMatch("moderation", category, ""))
                if flagged:
                    outcome = max(outcome, self.moderation_flagged, key=_RANK.__getitem__)
                    reasons.append(f"flagged by the moderation endpoint ({', '.join(flagged)})")
        reason = "; ".join(reasons) if reasons else "no rule matched"
        return PolicyDecision(outcome, reason, tuple(matches), digest, language, self.version)

    def require(self, text: str, language: str | None = None) -> PolicyDecision:
        """`check`, raising PolicyRefused on refuse (hold and allow are returned for the caller to act on)."""
        decision = self.check(text, language)
        if decision.outcome == "refuse":
            raise PolicyRefused(decision)
        return decision


def _name_pattern(name: str) -> re.Pattern[str]:
    n = normalise(name).strip()
    if _CJK.search(n):  # no word boundaries in Chinese: "你好我是李雷老师" claims to be 李雷 too
        intros = "|".join(re.escape(p) for p in IMPERSONATION_PATTERNS["zh"])
        return re.compile(rf"(?:{intros})\s*{re.escape(n)}")
    name_re = r"\s+".join(re.escape(w) for w in n.split())
    intros = "|".join(IMPERSONATION_PATTERNS["en"])
    # "I am Ada Lovelace" claims to be her; "I am Ada Lovelace's biographer" does not.
    return re.compile(rf"(?<!\w)(?:{intros})\s*[,:]?\s*{name_re}(?!\w|['’]s)")


def _read_lists(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise InputError(f"cannot read policy lists {path}: {e.strerror}", field="policy.lists_file") from e
    except yaml.YAMLError as e:
        raise InputError(f"policy lists {path} are not valid YAML: {e}", field="policy.lists_file") from e
    if not isinstance(data, dict) or not set(data) <= {"block", "review", "protected_names"}:
        raise InputError(
            f"policy lists {path} must be a mapping with block, review and protected_names", field="policy.lists_file"
        )
    for key in ("block", "review"):
        lists = data.get(key, {})
        ok = isinstance(lists, dict) and all(
            isinstance(cats, dict)
            and all(isinstance(t, list) and all(isinstance(x, str) for x in t) for t in cats.values())
            for cats in lists.values()
        )
        if not ok:
            raise InputError(f"{path}: {key} must map language -> category -> list of terms", field="policy.lists_file")
    return data


def _merge(a: Mapping[str, Mapping[str, list[str]]], b: Mapping[str, Mapping[str, list[str]]]) -> TermLists:
    out: TermLists = {lang: {cat: list(terms) for cat, terms in cats.items()} for lang, cats in a.items()}
    for lang, cats in b.items():
        for cat, terms in cats.items():
            out.setdefault(lang, {}).setdefault(cat, []).extend(terms)
    return out


def require_publishable(
    policy: ContentPolicy, text: str, language: str | None = None, field: str = "text"
) -> PolicyDecision:
    """The policy for a finished video (a clip, a bulletin, an API job): refused is a PolicyRefused,
    and held for review is an InputError too — there is no operator to approve it there (a channel
    queue keeps such items `held` instead)."""
    try:
        decision = policy.require(text, language)
    except PolicyRefused as e:
        e.field = field
        raise
    if decision.outcome == "hold":
        raise InputError(
            f"this script needs an operator's review before it can be published ({decision.reason}); "
            "add it to a channel queue, where an operator can approve it, or change it",
            field=field,
        )
    return decision
