"""callback_url may only reach public addresses, unless the operator allows a network;
the check runs at submission and again before every delivery."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from anchor.config import ApiSettings
from anchor.errors import InputError
from anchor.jobs.callback_guard import check_callback_url, parse_networks
from anchor.jobs.records import JobRecord, VideoSpec
from anchor.jobs.store import SqliteJobStore
from anchor.jobs.webhooks import WebhookSender
from tests.helpers import StandIn, reply, wait_until


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://10.0.0.7/hook",
        "http://192.168.1.20/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::127.0.0.1]/hook",  # IPv4-compatible
        "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of the cloud metadata address
        "http://[2002:7f00:1::1]/hook",  # 6to4 of loopback
        "http://[2002:c0a8:101::1]/hook",  # 6to4 of 192.168.1.1
        "http://[fec0::1]/hook",  # site-local
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "ftp://93.184.216.34/hook",
    ],
)
def test_non_public_or_non_http_callbacks_are_refused(url: str) -> None:
    with pytest.raises(InputError) as e:
        check_callback_url(url)
    assert e.value.field == "callback_url"


def test_public_addresses_pass_and_allowed_networks_open_private_ones() -> None:
    check_callback_url("https://93.184.216.34/hook")
    check_callback_url("http://[2606:4700:4700::1111]/hook")
    allowed = parse_networks(["10.0.0.0/8", "127.0.0.1"])
    check_callback_url("http://10.0.0.7/hook", allowed)
    check_callback_url("http://127.0.0.1:9000/hook", allowed)
    with pytest.raises(InputError, match="non-public"):
        check_callback_url("http://127.0.0.2/hook", allowed)
    with pytest.raises(InputError, match="non-public"):
        check_callback_url("http://192.168.0.1/hook", allowed)


def test_bad_network_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="not a network"):
        ApiSettings(webhook_private_networks=["intranet"])


def test_delivery_rechecks_the_address_and_does_not_retry_a_refused_one(tmp_path: Path) -> None:
    """A job stored with a loopback callback (as if the name resolved elsewhere at submission)
    is refused at delivery by a sender that does not allow loopback: no request, and it is given
    up (no retry is left queued); a sender that allows it delivers."""
    receiver = StandIn(lambda h, _requests: reply(h, 204, b""))  # records its own requests, per test
    store = SqliteJobStore(tmp_path / "jobs.db")
    with receiver:
        url = receiver.url + "/hook"
        for job_id, networks in (("job_refused", []), ("job_allowed", ["127.0.0.0/8"])):
            record, _ = store.create(
                JobRecord(id=job_id, spec=VideoSpec(text="Hi."), callback_url=url, state="completed")
            )
            with WebhookSender(store, "secret", retries=3, backoff_s=0.05, private_networks=networks) as sender:
                sender.notify(record, {"id": job_id})

                def settled(job_id: str = job_id, sender: WebhookSender = sender) -> bool:
                    """Delivered, or given up with nothing of it left queued in the sender."""
                    hook = store.get(job_id).webhook  # type: ignore[union-attr]
                    return hook is not None and (hook.delivered or hook.given_up) and job_id not in sender.holding

                wait_until(settled, timeout=30)
        refused = store.get("job_refused").webhook  # type: ignore[union-attr]
        assert refused.attempts == 1 and refused.given_up and not refused.delivered
        assert "refused" in (refused.last_error or "")
        allowed = store.get("job_allowed").webhook  # type: ignore[union-attr]
        assert allowed.delivered and allowed.last_status == 204
    assert [r["path"] for r in receiver.requests] == ["/hook"], "one request: the allowed delivery"
