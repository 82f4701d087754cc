"""A bundle unpacked once on the machine that runs it (``tvseg gpu-run``, ``tvseg estimate --bundle``)."""

from __future__ import annotations

from pathlib import Path


def unpack_once(bundle_dir: Path, work_dir: Path, say=print) -> dict:
    """Unpack ``bundle_dir`` under ``work_dir`` (prepared data, packages) unless this very bundle
    is unpacked there already; returns its configuration, reading data from there."""
    import yaml

    from tvseg.runner.bundle import CONFIG, MANIFEST, describe, unbundle, use_bundled_packages, verify

    bundle_dir, work_dir = Path(bundle_dir), Path(work_dir)
    stamp = work_dir / "unpacked-from.json"
    manifest_text = (bundle_dir / MANIFEST).read_text() if (bundle_dir / MANIFEST).is_file() else None
    if manifest_text is not None and stamp.is_file() and stamp.read_text() == manifest_text:
        say(f"{bundle_dir} is unpacked in {work_dir} already")
        config = yaml.safe_load((bundle_dir / CONFIG).read_text())
        config["prepared_root"] = str(work_dir / "prepared")
    else:
        say(describe(verify(bundle_dir)))
        config = unbundle(bundle_dir, work_dir / "prepared", site_dir=work_dir / "site")
        stamp.write_text(manifest_text)
    use_bundled_packages(work_dir / "site")
    return config
