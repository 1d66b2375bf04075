"""The image smoke test's inside half: run by ``scripts/image.sh smoke`` as root in
new network and mount namespaces (``unshare --net --mount``), with the image's root
file system and config (``--rootfs``, ``--config``). Exits non-zero on any failure.

1. The namespace has no network: ``lo`` is its only interface (brought up here), so
   the service can reach nothing outside, and a weight it tried to fetch at start
   would fail it.
2. The image's root file system is mounted read-only, with a tmpfs on ``/tmp`` and on
   the data folder, as the Kubernetes manifests run it (deploy/kubernetes/deployment.yaml).
3. ``facematch keys create``, then the image's command (``facematch serve``) with the
   image's environment, working folder and user, chrooted; the process must run as
   that unprivileged user.
4. ``/healthz`` answers; ``/readyz`` says ready; one real match over HTTP
   (scikit-image's astronaut against a mirrored, rescaled photo of her: match "1"),
   and a non-match (against the cameraman: "-1").
5. No pip configuration or CA bundle of the build was left in the image; after the
   requests, nothing the size of a model file was written to ``/tmp`` or
   the data folder.
"""

from __future__ import annotations

import argparse
import fcntl
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

PATH = "/api/v2/ekyc/face_matching"
START_LIMIT_S = 180.0  # a limit on waiting, not a measurement: the start time is printed


def fail(message: str) -> None:
    print(f"smoke: FAILED: {message}", file=sys.stderr)
    raise SystemExit(1)


def lo_up() -> None:
    """``ip link set lo up`` without iproute2: SIOCGIFFLAGS / SIOCSIFFLAGS."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, siocgifflags, ifreq))[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH14x", b"lo", flags | iff_up))


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def prepare(root: Path, data_dir: str, uid: int, gid: int) -> None:
    mount("--make-rprivate", "/")
    mount("--bind", str(root), str(root))
    mount("-o", "remount,bind,ro", str(root))
    mount("--rbind", "/dev", str(root / "dev"))
    mount("-t", "proc", "proc", str(root / "proc"))
    mount("-t", "tmpfs", "-o", "mode=1777,size=256m", "tmpfs", str(root / "tmp"))
    mount("-t", "tmpfs", "-o", f"mode=700,uid={uid},gid={gid},size=64m", "tmpfs", str(root / data_dir.lstrip("/")))


def user_ids(root: Path, user: str) -> tuple[int, int]:
    name, _, group = user.partition(":")
    if name.isdigit():
        uid = int(name)
        gid = int(group) if group.isdigit() else uid
        return uid, gid
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2]), int(fields[3])
    fail(f"user {user!r} is not in the image's /etc/passwd")
    raise AssertionError  # unreachable


def images() -> tuple[bytes, bytes, bytes]:
    """JPEGs of scikit-image's public-domain portraits, as the test suite makes them (tests/conftest.py)."""
    import cv2
    from skimage import data

    astronaut = data.astronaut()
    face = cv2.resize(np.ascontiguousarray(astronaut[:, ::-1]), (700, 700))
    face = np.clip(face.astype(np.int16) + 12, 0, 255).astype(np.uint8)
    selfie = np.full((960, 1280, 3), (70, 90, 110), dtype=np.uint8)
    selfie[130:830, 290:990] = face
    cameraman = np.ascontiguousarray(np.repeat(data.camera()[:, :, None], 3, axis=2))

    def jpeg(rgb: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "JPEG", quality=90)
        return buf.getvalue()

    return jpeg(astronaut), jpeg(selfie), jpeg(cameraman)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rootfs", type=Path, required=True)
    ap.add_argument("--config", type=Path, required=True, help="the image's config (Env, Cmd, User, WorkingDir) as JSON")
    args = ap.parse_args()
    root: Path = args.rootfs.resolve()
    config = json.loads(args.config.read_text())

    interfaces = sorted(name for _, name in socket.if_nameindex())  # this network namespace's
    if interfaces != ["lo"]:
        fail(f"not in an empty network namespace (interfaces {interfaces}); run it through scripts/image.sh smoke")
    lo_up()

    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    workdir = config.get("WorkingDir") or "/"
    cmd: list[str] = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    user = config.get("User") or "root"
    uid, gid = user_ids(root, user)
    if uid == 0:
        fail(f"the image runs as root (User {user!r})")
    data_dir = env.get("FACEMATCH_DATA_DIR", "/var/lib/facematch")
    port = int(cmd[cmd.index("--port") + 1]) if "--port" in cmd else 8000
    # The build's pip configuration and CA bundle were build secrets: none is in the image.
    leaked = [str(p.relative_to(root)) for p in (root / "run/secrets", root / "etc/pip.conf", root / "etc/xdg/pip",
                                                  root / "root/.config/pip", root / "root/.pip") if p.exists()]
    if leaked:
        fail(f"build-time pip configuration left in the image: {leaked}")
    prepare(root, data_dir, uid, gid)

    def as_image_user() -> None:
        os.chroot(root)
        os.chdir(workdir)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)

    def run_in_image(argv: list[str], **kw: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, env=env, preexec_fn=as_image_user, **kw)  # type: ignore[call-overload]

    exe = cmd[0]
    keys = run_in_image([exe, "keys", "create", "--json", "--label", "smoke"], stdout=subprocess.PIPE)
    out, _ = keys.communicate()
    if keys.returncode != 0:
        fail(f"facematch keys create exited {keys.returncode}")
    key = json.loads(out)
    auth = (key["api_key"], key["api_secret"])

    log = Path("/tmp") / f"facematch-smoke-{os.getpid()}.log"  # the host's /tmp: the image's is read-only
    print(f"smoke: starting {' '.join(cmd)} as uid {uid} in {root} (no network; log {log})")
    t0 = time.monotonic()
    with log.open("wb") as log_file:
        server = run_in_image(cmd, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        status = Path(f"/proc/{server.pid}/status").read_text()
        uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
        if set(uids) != {str(uid)}:
            fail(f"the server runs with uids {uids}, not {uid}")
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60.0) as client:
            while True:
                if server.poll() is not None:
                    fail(f"facematch serve exited {server.returncode} before /healthz answered:\n{log.read_text()}")
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() - t0 > START_LIMIT_S:
                    fail(f"/healthz did not answer within {START_LIMIT_S:.0f} s:\n{log.read_text()}")
                time.sleep(0.2)
            print(f"smoke: /healthz answered {time.monotonic() - t0:.1f} s after start")
            ready = client.get("/readyz")
            if ready.status_code != 200:
                fail(f"/readyz answered {ready.status_code}: {ready.text}")

            card, selfie, cameraman = images()
            for name, img2, want in (("same person", selfie, "1"), ("different people", cameraman, "-1")):
                r = client.post(f"{PATH}?type1=portrait&format_type=file", auth=auth,
                                files={"img1": ("a.jpg", card), "img2": ("b.jpg", img2)})
                body = r.json()
                if r.status_code != 200 or body.get("errorCode") != "0":
                    fail(f"{name}: HTTP {r.status_code} {body}")
                d = body["data"]
                if d["match"] != want:
                    fail(f"{name}: match {d['match']} (matching {d['matching']}), expected {want}")
                print(f"smoke: {name}: match {d['match']}, matching {d['matching']}, "
                      f"invalidCode {d['invalidCode']}, request {d['request_id']}")
        for folder in (root / "tmp", root / data_dir.lstrip("/")):
            big = [str(p) for p in folder.rglob("*") if p.is_file() and p.stat().st_size > 1 << 20]
            if big:
                fail(f"files over 1 MiB written at run time (a downloaded weight?): {big}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    log.unlink()
    print("smoke: PASSED: the image served /healthz, /readyz and a real match as uid "
          f"{uid}, read-only root, no network")
    return 0


if __name__ == "__main__":
    sys.exit(main())
