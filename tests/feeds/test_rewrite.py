"""The optional rewrite through an OpenAI-compatible endpoint (a real local server), and the
extractive fallback when it is down, slow or answers nonsense."""

from __future__ import annotations

import json
import time

from anchor.feeds.config import RewriteConfig
from anchor.feeds.rewrite import Rewriter
from anchor.feeds.script import extractive_script
from anchor.live.store import ScriptQueue
from tests.feeds.conftest import DeskFactory, VirtualClock
from tests.feeds.fixtures import Entry, rss
from tests.feeds.server import FeedServer, Route
from tests.helpers import free_port


def chat(content: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()


class ChatServer(FeedServer):
    """The feed server answering POST /v1/chat/completions too; `asked` logs the request bodies."""

    def __init__(self, answer: bytes, delay_s: float = 0.0) -> None:
        super().__init__()
        self.asked: list[dict] = []
        handler = self._httpd.RequestHandlerClass
        outer = self

        def do_POST(h) -> None:  # type: ignore[no-untyped-def]
            outer.asked.append(json.loads(h.rfile.read(int(h.headers["Content-Length"]))))
            time.sleep(delay_s)
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(answer)))
            h.end_headers()
            h.wfile.write(answer)

        handler.do_POST = do_POST  # type: ignore[attr-defined]


def rewriter(url: str, timeout_s: float = 2.0) -> Rewriter:
    return Rewriter(
        RewriteConfig(enabled=True, url=url, api_key="k", timeout_s=timeout_s, allow_networks=["127.0.0.1"])
    )


def test_a_rewritten_script_is_used_and_spoken(
    make_desk: DeskFactory, queue: ScriptQueue, clock: VirtualClock, server: FeedServer
) -> None:
    with ChatServer(chat("**Good evening.** Rates rose by 0.25% today, the bank said.")) as llm:
        server.routes["/f"] = Route(rss([Entry("1", "Rates up", "<p>The bank raised rates 0.25%.</p>", clock.now())]))
        with rewriter(llm.url("/v1")) as rw:
            desk = make_desk([{"name": "w", "url": server.url("/f"), "to": ["queue"]}], rewrite=rw.rewrite)
            desk.poll()
        ((item),) = queue.list()
        assert item.text == "Good evening. Rates rose by zero point two five per cent today, the bank said."
        (asked,) = llm.asked
        assert asked["messages"][1]["content"].startswith("Rates up\n\nThe bank raised rates 0.25%.")


def test_the_extractive_script_is_the_fallback_when_the_endpoint_is_down_slow_or_useless() -> None:
    title, text = "Rates up", "The bank raised rates. Markets were calm."
    fallback = extractive_script(title, text, "en")
    assert fallback == "Rates up. The bank raised rates. Markets were calm."
    with rewriter(f"http://127.0.0.1:{free_port()}/v1") as down:
        assert down.rewrite(title, text, "en") is None and down.failures == 1
    with ChatServer(chat("late"), delay_s=1) as slow, rewriter(slow.url("/v1"), timeout_s=0.3) as rw:
        assert rw.rewrite(title, text, "en") is None
    with ChatServer(b'{"nope": 1}') as odd, rewriter(odd.url("/v1")) as rw:
        assert rw.rewrite(title, text, "en") is None
    with ChatServer(chat("word " * 500)) as long, rewriter(long.url("/v1")) as rw:
        assert rw.rewrite(title, text, "en") is None


def test_the_rewrite_endpoint_is_guarded_too() -> None:
    with ChatServer(chat("x")) as llm:
        rw = Rewriter(RewriteConfig(enabled=True, url=llm.url("/v1")))  # loopback not allowed
        assert rw.rewrite("t", "x", "en") is None
        assert llm.asked == []
        rw.close()


def test_extractive_scripts_stay_within_40_seconds() -> None:
    body = " ".join(f"Sentence number {i} adds a few more words to the story." for i in range(40))
    script = extractive_script("A long story", body, "en")
    assert 50 <= len(script.split()) <= 100
    zh = extractive_script("长新闻", "这是一个很长的句子，用来测试中文稿件的长度限制。" * 30, "zh")
    assert 80 <= sum(1 for c in zh if "\u4e00" <= c <= "\u9fff") <= 170
