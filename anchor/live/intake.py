"""Scripts entering the channel's queue pass the content policy first, at every edge (API, CLI, say-now).

`admit` adds an item with the policy's decision kept on it: allowed items queue as usual, items
that need review are stored `held` (they wait for an operator's approve / reject and never play
before), refused ones are not stored at all (PolicyRefused, an InputError naming the text).
`amend` does the same for an edit of a waiting item. Recorded audio items carry no script to
check here; their words are heard when they are prepared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from anchor.live.items import Item, ItemIn
from anchor.live.store import ScriptQueue
from anchor.provenance.policy import ContentPolicy


def admit(queue: ScriptQueue, policy: ContentPolicy, spec: ItemIn) -> Item:
    """Add `spec` to the queue as the content policy decides (allow, hold, or PolicyRefused)."""
    if spec.text is None:
        return queue.add(spec)
    decision = policy.require(spec.text, spec.language)
    return queue.add(spec, hold=decision.outcome == "hold", policy=decision.as_dict())


def amend(queue: ScriptQueue, policy: ContentPolicy, item_id: int, patch: Mapping[str, Any]) -> Item:
    """Edit a waiting item; new text is checked again, and text that needs review puts the item on hold."""
    text = patch.get("text")
    if not isinstance(text, str):
        return queue.update(item_id, patch)
    language = patch.get("language") if isinstance(patch.get("language"), str) else queue.get(item_id).language
    decision = policy.require(text, language)
    item = queue.update(item_id, patch)
    if decision.outcome == "hold":
        return queue.hold(item_id, f"needs review: {decision.reason}", decision.as_dict())
    return item
