"""The content policy: lists per language, impersonation, the moderation endpoint."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from anchor.config import PolicySettings
from anchor.errors import InputError
from anchor.provenance.policy import ContentPolicy

LISTS = {
    "block": {
        "en": {"violence": ["kill them all"]},
        "zh": {"violence": ["杀光他们"]},
        "*": {"spam": ["buy crypto now"]},
    },
    "review": {"en": {"violence": ["massacre"]}, "zh": {"violence": ["屠杀"]}},
}


def policy(**kw: object) -> ContentPolicy:
    return ContentPolicy(LISTS["block"], LISTS["review"], ["Ada Lovelace", "李雷"], **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "language", "outcome"),
    [
        ("Good evening, here is the news.", "en", "allow"),
        ("They said: KILL  them ALL.", "en", "refuse"),  # case and spacing do not hide a term
        ("Ｋｉｌｌ them all", "en", "refuse"),  # nor full-width letters
        ("Skill them allotments", "en", "allow"),  # whole words only
        ("Reports of a massacre.", "en", "hold"),
        ("Reports of a massacre.", "en-GB", "hold"),
        ("Reports of a massacre.", "zh", "allow"),  # the English list is for English scripts
        ("Reports of a massacre.", None, "hold"),  # unknown language: every list
        ("他们说要杀光他们。", "zh", "refuse"),
        ("北方发生屠杀。", "zh", "hold"),
        ("Buy crypto now!", "fr", "refuse"),  # "*" applies to every language
        ("Hello, I am Ada Lovelace.", "en", "refuse"),
        ("My name is ada   lovelace and this is the news.", "en", "refuse"),
        ("Ada Lovelace wrote the first program.", "en", "allow"),  # naming a person is reporting
        ("I am Ada Lovelace's biographer.", "en", "allow"),
        ("大家好我是李雷。", "zh", "refuse"),
        ("李雷今天说。", "zh", "allow"),
    ],
)
def test_outcomes(text: str, language: str | None, outcome: str) -> None:
    decision = policy().check(text, language)
    assert decision.outcome == outcome, decision.reason
    assert decision.text_sha256 and decision.policy


def test_refuse_outranks_hold_and_every_reason_is_given() -> None:
    d = policy().check("A massacre. Kill them all.", "en")
    assert d.outcome == "refuse"
    assert "massacre" in d.reason and "kill them all" in d.reason
    assert {m.rule for m in d.matches} == {"block", "review"}
    json.dumps(d.as_dict())


def test_from_settings_reads_the_shipped_lists_and_merges_inline_ones() -> None:
    p = ContentPolicy.from_settings(
        PolicySettings(review={"en": {"local": ["council tax"]}}, protected_names=["Ada Lovelace"])
    )
    assert p.check("They should be killed.", "en").outcome == "refuse"  # from config/policy.default.yaml
    assert p.check("The council tax rises.", "en").outcome == "hold"
    assert p.check("I'm Ada Lovelace.", "en").outcome == "refuse"
    assert p.check("Floods in the north; three people were killed.", "en").outcome == "allow"  # news words are fine
    off = ContentPolicy.from_settings(PolicySettings(enabled=False))
    assert off.check("They should be killed.", "en").outcome == "allow"


def test_a_bad_lists_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "lists.yaml"
    bad.write_text("block: [kill]\n", encoding="utf-8")
    with pytest.raises(InputError, match="language -> category"):
        ContentPolicy.from_settings(PolicySettings(lists_file=bad))


class _Moderation(BaseHTTPRequestHandler):
    mode = "ok"
    seen: list[dict[str, object]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        if self.mode == "slow":
            time.sleep(1.0)
        if self.mode == "error":
            self.send_response(500)
            self.end_headers()
            return
        flagged = "attack the" in body["input"]
        answer = {"results": [{"flagged": flagged, "categories": {"violence": flagged, "hate": False}}]}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def moderation() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Moderation)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Moderation.mode, _Moderation.seen = "ok", []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_moderation_endpoint_can_refuse(moderation: str) -> None:
    p = ContentPolicy.from_settings(
        PolicySettings(lists_file=None, moderation_url=moderation, moderation_api_key="sk-test", moderation_model="m1")
    )
    assert p.check("A calm day.", "en").outcome == "allow"
    d = p.check("Let us attack the town hall.", "en")
    assert d.outcome == "refuse" and "violence" in d.reason
    assert _Moderation.seen[0] == {
        "path": "/v1/moderations",
        "auth": "Bearer sk-test",
        "model": "m1",
        "input": "A calm day.",
    }


@pytest.mark.parametrize("mode", ["error", "slow"])
def test_an_unavailable_moderation_endpoint_holds_the_script(moderation: str, mode: str) -> None:
    _Moderation.mode = mode
    p = ContentPolicy.from_settings(
        PolicySettings(lists_file=None, moderation_url=moderation, moderation_timeout_s=0.3)
    )
    d = p.check("A calm day.", "en")
    assert d.outcome == "hold" and "unavailable" in d.reason
