"""Optional rewrite: an OpenAI-compatible chat endpoint turns an entry into a 20-40 s anchor script.

Off by default. The endpoint is reached through the same address guard as feeds (its own
`allow_networks`, since it is often a local model server), within `timeout_s`; any failure,
or an answer that is empty or far too long, returns None and the caller falls back to the
extractive script.
"""

from __future__ import annotations

import logging
import re

import httpx

from anchor.feeds.config import RewriteConfig
from anchor.feeds.errors import FeedError
from anchor.feeds.fetch import guarded_transport
from anchor.netguard import parse_networks

log = logging.getLogger(__name__)

_PROMPTS = {
    "en": (
        "You are a television news writer. Rewrite the story below as a script a news anchor reads aloud "
        "in 20 to 40 seconds (50 to 100 words), in English. Plain sentences only: no headings, lists, "
        "markdown, quotes of the instructions, or sign-off. Keep every fact; add none."
    ),
    "zh": (
        "你是电视新闻撰稿人。把下面的新闻改写成主播20到40秒能读完的播报稿（80到170个字），用普通话书面语。"
        "只写完整的句子：不要标题、列表、markdown或结束语。保留所有事实，不要添加任何内容。"
    ),
}
_MAX_CHARS = {"en": 900, "zh": 300}


class Rewriter:
    """Calls the configured chat endpoint; a context manager. `rewrite` is the hook `draft_story` takes."""

    def __init__(self, config: RewriteConfig, transport: httpx.BaseTransport | None = None) -> None:
        if not config.url:
            raise ValueError("a Rewriter needs rewrite.url")
        self.config = config
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        allowed = parse_networks(config.allow_networks, field="feeds.rewrite.allow_networks")
        self._client = httpx.Client(
            transport=transport or guarded_transport(allowed), trust_env=False, headers=headers, follow_redirects=False
        )
        self.failures = 0
        self.successes = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Rewriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rewrite(self, title: str, text: str, language: str) -> str | None:
        """A script for this story, or None (endpoint down, slow, or an unusable answer)."""
        url = str(self.config.url).rstrip("/") + "/chat/completions"
        body = {
            "model": self.config.model,
            "temperature": 0.3,
            "max_tokens": 400,
            "messages": [
                {"role": "system", "content": _PROMPTS.get(language, _PROMPTS["en"])},
                {"role": "user", "content": f"{title}\n\n{text}"[:6000]},
            ],
        }
        try:
            r = self._client.post(url, json=body, timeout=self.config.timeout_s)
            r.raise_for_status()
            answer = r.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, FeedError, ValueError, KeyError, IndexError, TypeError) as e:
            self.failures += 1
            log.warning("rewrite failed, using the extractive script: %s", e)
            return None
        script = _clean(str(answer))
        if not script or len(script) > _MAX_CHARS.get(language, 900):
            self.failures += 1
            log.warning("rewrite answer unusable (%d chars), using the extractive script", len(script))
            return None
        self.successes += 1
        return script


def _clean(answer: str) -> str:
    """Drop markdown furniture a model may add anyway."""
    lines = [re.sub(r"^\s*(?:[#>*-]+|\d+[.)])\s*", "", line) for line in answer.splitlines()]
    text = " ".join(line.strip() for line in lines if line.strip())
    return re.sub(r"[*_`]+", "", text).strip()
