"""`anchor keys init`, `anchor verify FILE_OR_URL`, `anchor asrun verify FILE`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from anchor.cli.common import ConfigOpt, app, console, errors, out, settings_from
from anchor.errors import InputError

keys_app = typer.Typer(help="Signing keys for C2PA manifests and the watermark.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
asrun_app = typer.Typer(help="The channel's as-run record.", no_args_is_help=True)
app.add_typer(asrun_app, name="asrun")


@keys_app.command("init")
def keys_init(
    issuer: str | None = typer.Option(None, help="The newsroom's name (default: provenance.issuer)."),
    force: bool = typer.Option(False, "--force", help="Replace existing keys (old outputs then need the old ca.pem)."),
    config: Path | None = ConfigOpt,
) -> None:
    """Make a local signing CA, an ES256 signing certificate and a watermark key under provenance.keys_dir."""
    from anchor.provenance.house import issuer_name
    from anchor.provenance.keys import init_keys

    settings = settings_from(config)
    with errors():
        files = init_keys(settings.provenance.keys_dir, issuer or issuer_name(settings.provenance), force=force)
    for f in files:
        out.print(f"wrote {f}", soft_wrap=True)
    out.print(
        "keep ca.key, signer.key and watermark.key private (mode 600); give ca.pem to whoever verifies", soft_wrap=True
    )


@keys_app.command("show")
def keys_show(config: Path | None = ConfigOpt) -> None:
    """Print the signing certificate's subject, issuer, validity and fingerprint."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from anchor.provenance.house import signing_identity

    settings = settings_from(config)
    with errors():
        ident = signing_identity(settings.provenance)
    cert = x509.load_pem_x509_certificates(ident.cert_chain)[0]
    out.print(f"issuer name: {ident.issuer}")
    out.print(f"subject:     {cert.subject.rfc4514_string()}")
    out.print(f"issued by:   {cert.issuer.rfc4514_string()}")
    out.print(f"valid:       {cert.not_valid_before_utc:%Y-%m-%d} .. {cert.not_valid_after_utc:%Y-%m-%d}")
    out.print(f"sha256:      {cert.fingerprint(hashes.SHA256()).hex(':')}", soft_wrap=True)


@app.command("verify")
def verify(
    source: str = typer.Argument(..., help="An MP4 file or an http(s) URL."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
    seconds: float = typer.Option(10.0, min=0.5, max=600, help="Seconds of video to search for the watermark."),
    config: Path | None = ConfigOpt,
) -> None:
    """Check a video's C2PA manifest and watermark; exit 0 only when this system made it and it is unaltered.

    Exit codes: 0 authentic, 3 tampered, 4 untrusted signer, 5 a copy (watermark but no valid
    manifest), 6 unknown (neither), 2 bad input, 1 failure.
    """
    from anchor.provenance.house import issuer_name, signing_identity
    from anchor.provenance.keys import load_watermark_key
    from anchor.provenance.verify import local_copy, render_json, render_text, verify_file

    settings = settings_from(config)
    p = settings.provenance
    with errors():
        try:
            ident = signing_identity(p)
            anchors, key = ident.trust_anchors, ident.watermark_key
        except InputError as e:  # no keys here: still read the manifest, without trust or watermark
            console.print(f"[yellow]note:[/] {escape(str(e))}; checking without trust anchors or watermark key")
            anchors, key = b"", None
            if (p.keys_dir / "watermark.key").is_file():
                key = load_watermark_key(p.keys_dir)
        with console.status("reading the manifest and looking for the watermark ..."), local_copy(source) as path:
            verdict = verify_file(
                path,
                trust_anchors=anchors,
                watermark_key=key,
                issuers=[issuer_name(p), *p.known_issuers],
                max_seconds=seconds,
                display_name=source,
                index_file=p.index_file,
            )
    out.print(render_json(verdict) if as_json else escape(render_text(verdict)), soft_wrap=True)
    raise typer.Exit(verdict.exit_code)


@asrun_app.command("verify")
def asrun_verify(
    file: Path = typer.Argument(..., help="An as-run log (JSON lines)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    config: Path | None = ConfigOpt,
) -> None:
    """Check the as-run log's hash chain and signatures; exit 0 when intact, 3 when a line was removed or edited."""
    import json

    from anchor.provenance.asrun import verify_log
    from anchor.provenance.house import signing_identity

    settings = settings_from(config)
    with errors():
        ident = signing_identity(settings.provenance)
        report = verify_log(file, ident.trust_anchors)
    if as_json:
        out.print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False), soft_wrap=True)
    else:
        out.print(escape(report.text()), soft_wrap=True)
    raise typer.Exit(0 if report.ok else 3)
