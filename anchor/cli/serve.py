"""`anchor serve` (the HTTP API) and `anchor worker` (runs queued video jobs in distributed mode)."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import typer

from anchor.cli.common import ConfigOpt, app, console, errors, settings_from
from anchor.errors import InputError


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not verbose:
        logging.getLogger("dramatiq").setLevel(logging.WARNING)


@app.command()
def serve(
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default: api.host)."),
    port: int | None = typer.Option(None, "--port", "-p", help="Port (default: api.port)."),
    channel: list[Path] = typer.Option(
        [], "--channel", help="Also run this 24/7 channel; its control API is at /v1/channels/NAME (repeatable)."
    ),
    config: Path | None = ConfigOpt,
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs). Jobs run in-process (embedded) or on
    `anchor worker` processes (api.mode: distributed)."""
    from anchor.netguard import check_exposure

    settings = settings_from(config)
    api = settings.api.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    settings = settings.model_copy(update={"api": api})
    with errors():  # refused before anything heavy is loaded
        check_exposure(api.host, api.keys, "api.keys")

    import uvicorn

    from anchor.api import create_app
    from anchor.api.auth import KeyRing
    from anchor.api.channel import channel_router
    from anchor.api.viewing import policy_for
    from anchor.api.whep import whep_router
    from anchor.live.config import load_channel_config
    from anchor.live.runtime import build_channel
    from anchor.program.pipeline import Pipeline

    _logging(verbose)
    runtimes, routers = [], []
    with errors():
        pipeline = Pipeline(settings)
        for path in channel:
            runtime = build_channel(pipeline, load_channel_config(path))
            prefix = f"/v1/channels/{runtime.config.name}"
            routers.append((channel_router(runtime.channel, api.keys), prefix))
            if runtime.broadcaster is not None:
                viewing = policy_for(runtime.config.webrtc, runtime.config.name, KeyRing(api.keys))
                routers.append((whep_router(runtime.broadcaster, viewing), prefix))
            runtimes.append(runtime)
        application = create_app(settings, extra_routers=routers)
    if not api.keys:
        console.print(
            "[yellow]warning:[/] no API keys configured (api.keys): anyone who can reach the port can use the API"
        )
    with contextlib.ExitStack() as stack:
        for runtime in runtimes:
            stack.enter_context(runtime)
            console.print(f"channel {runtime.config.name!r} on air; control API at /v1/channels/{runtime.config.name}")
        uvicorn.run(
            application,
            host=api.host,
            port=api.port,
            log_level="info" if verbose else "warning",
            access_log=verbose,
            timeout_graceful_shutdown=2,
        )


@app.command()
def worker(
    threads: int | None = typer.Option(None, "--threads", help="Jobs run at once (default: api.worker_threads)."),
    config: Path | None = ConfigOpt,
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Run video jobs from the Redis queue (api.mode: distributed) until SIGTERM/Ctrl-C."""
    from anchor.jobs.distributed import run_worker, wait_for_redis

    settings = settings_from(config)
    if threads is not None:
        settings = settings.model_copy(update={"api": settings.api.model_copy(update={"worker_threads": threads})})
    _logging(verbose)
    with errors():
        if settings.api.mode != "distributed":
            raise InputError(
                "`anchor worker` needs api.mode: distributed (embedded mode runs jobs inside `anchor serve`)",
                field="api.mode",
            )
        try:
            wait_for_redis(settings.api.redis_url, timeout_s=15)
        except Exception as e:
            raise InputError(f"cannot reach Redis at {settings.api.redis_url}: {e}", field="api.redis_url") from None
        run_worker(settings)
