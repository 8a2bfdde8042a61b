#!/usr/bin/env python3
"""The kernel matrix: the `bpf` and `e2e` test binaries on other kernels, in QEMU.

For each kernel (Debian's 5.10, 6.1 and 6.12 cloud kernels, resolved through
their meta packages and fetched with apt-get download; 5.10 from bullseye
through an apt configuration of the runner's own, so the machine's sources are
untouched), builds an initramfs holding busybox, iproute2, bpftool, smi-agent,
the test binaries and their shared libraries, and the modules those kernels
build as modules; boots the guests two at a time under QEMU software emulation
(1 vCPU each, one per core); collects each test's verdict over a second serial
port. To chase one failure: --binaries, --gtest-filter, --kernel-log. The host kernel's column comes from running
the same binaries here. Prints a per-kernel table and a closing line, and exits
non-zero when any test fails, a guest crashes or hangs (after one retry), or a
test skips without naming a missing kernel feature.

Everything downloaded or built is cached under --cache (build/vm-cache): the
kernel packages, their extracted trees and the initramfs (rebuilt only when a
binary, library, module or the guest init changes).
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import lzma
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (column name, meta package that depends on the current ABI's image package,
# Debian suite: None for the machine's own (bookworm) sources)
KERNELS = [("5.10", "linux-image-cloud-amd64", "bullseye"), ("6.1", "linux-image-cloud-amd64", None),
           ("6.12", "linux-image-6.12-cloud-amd64", None)]
# The columns a plain run (the test command) boots: all of them. On 5.10 the
# accelerated accel_test cases skip, naming kernel:sk_msg_memcg_accounting:
# acceleration there panics the guest (docs/kernels.md).
DEFAULT_KERNELS = ["5.10", "6.1", "6.12"]

# Built as modules in Debian's cloud kernels and needed by the fixture and the
# datapath: veth pairs, the fabric bridge, clsact + cls_bpf/act_bpf for tc
# programs, inet_diag/tcp_diag for the SOCK_DESTROY revocation fallback,
# wireguard for the kernel engine of --encryption wireguard.
MODULES = ["veth", "bridge", "sch_ingress", "cls_bpf", "act_bpf", "inet_diag", "tcp_diag", "udp_diag", "wireguard"]

# Tools the fixture and the tests run, besides busybox.
TOOLS = {"/usr/sbin/ip": "usr/sbin/ip", "/usr/sbin/tc": "usr/sbin/tc", "/usr/sbin/bpftool": "usr/sbin/bpftool",
         "/usr/bin/wg": "usr/bin/wg"}

# A skip must say which kernel feature is missing (tests/fixture/require_feature.h).
NAMED_SKIP = "missing kernel feature:"

QEMU_ARGS = ["-nodefaults", "-no-reboot", "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", "1G",
             "-display", "none", "-net", "none"]
KERNEL_CMDLINE = "console=ttyS0 panic=-1 oops=panic quiet smi.test_timeout={}"
# --kernel-log: every kernel message on the console (what led up to an oops).
KERNEL_CMDLINE_VERBOSE = "console=ttyS0 panic=-1 oops=panic loglevel=7 smi.test_timeout={}"


def log(msg: str) -> None:
    print(f"vm: {msg}", flush=True)


def run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, text=True, capture_output=True, **kw)


# --- test binaries ---------------------------------------------------------

@dataclasses.dataclass
class TestBinary:
    path: Path
    workdir: Path


HOST_ONLY = Path(__file__).with_name("host_only.txt")
_announced: set[str] = set()


def host_only() -> dict[str, str]:
    """Binaries the guests do not run (tests/vm/host_only.txt): name -> why."""
    out = {}
    for line in HOST_ONLY.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, why = line.strip().partition(" ")
            out[name] = why.strip()
    return out


def discover_tests(build: Path, labels: str) -> list[TestBinary]:
    """The gtest executables behind ctest's bpf and e2e tests, one per binary,
    less those host_only.txt keeps on the host (said, not silent)."""
    out = run(["ctest", "--test-dir", str(build), "-L", labels, "--show-only=json-v1"]).stdout
    seen: dict[Path, TestBinary] = {}
    keep_on_host = host_only()
    for t in json.loads(out)["tests"]:
        cmd = t.get("command") or []
        if not cmd:
            continue
        exe = Path(cmd[0])
        if exe.name in keep_on_host:
            if exe.name not in {p.name for p in seen} and exe.name not in _announced:
                log(f"host only: {exe.name} ({keep_on_host[exe.name]})")
                _announced.add(exe.name)
            continue
        wd = next((p["value"] for p in t.get("properties", []) if p["name"] == "WORKING_DIRECTORY"), str(exe.parent))
        seen.setdefault(exe, TestBinary(exe, Path(wd)))
    return sorted(seen.values(), key=lambda b: b.path.name)


# --- kernels ---------------------------------------------------------------

@dataclasses.dataclass
class Kernel:
    column: str
    package: str
    suite: str | None = None  # another Debian suite's archive (apt_options)
    release: str = ""
    root: Path = Path()

    @property
    def vmlinuz(self) -> Path:
        return self.root / "boot" / f"vmlinuz-{self.release}"


APT_OPTS = ["-o", "APT::Sandbox::User=root"]  # the cache dir is root's; no _apt warning
ARCHIVE_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def apt_options(suite: str | None, cache: Path) -> list[str]:
    """apt-get/apt-cache options for a kernel's suite. Another suite gets its
    own sources list, package lists and download cache under the runner's
    cache: the machine's apt configuration never sees it, so nothing installed
    can come from it."""
    if suite is None:
        return list(APT_OPTS)
    d = cache / f"apt-{suite}"
    for sub in ("lists/partial", "cache/archives/partial"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    (d / "sources.list").write_text(
        f"deb [signed-by={ARCHIVE_KEYRING}] http://deb.debian.org/debian {suite} main\n"
        f"deb [signed-by={ARCHIVE_KEYRING}] http://deb.debian.org/debian-security {suite}-security main\n")
    return [*APT_OPTS, "-o", f"Dir::Etc::SourceList={d / 'sources.list'}", "-o", "Dir::Etc::SourceParts=/nonexistent",
            "-o", f"Dir::State::Lists={d / 'lists'}", "-o", f"Dir::Cache={d / 'cache'}"]


def resolve_package(meta: str, opts: list[str]) -> str:
    """The image package the meta package currently depends on (apt-get update once if unknown)."""
    for attempt in range(2):
        r = subprocess.run(["apt-cache", *opts, "depends", "--important", meta], text=True, capture_output=True)
        deps = re.findall(r"Depends:\s+(linux-image-\S+)", r.stdout)
        if r.returncode == 0 and deps:
            return deps[0]
        if attempt == 0:
            log(f"{meta} unknown to apt; running apt-get update")
            run(["apt-get", *opts, "update", "-qq"])
    raise SystemExit(f"vm: cannot resolve {meta} through apt (is deb.debian.org reachable, with that suite?)")


def fetch_kernel(k: Kernel, cache: Path) -> None:
    opts = apt_options(k.suite, cache)
    k.package = resolve_package(k.package, opts)
    pdir = cache / k.package
    pdir.mkdir(parents=True, exist_ok=True)
    debs = list(pdir.glob("*.deb"))
    if not debs:
        log(f"downloading {k.package}")
        try:
            run(["apt-get", "download", *opts, k.package], cwd=pdir)
        except subprocess.CalledProcessError:
            run(["apt-get", *opts, "update", "-qq"])
            run(["apt-get", "download", *opts, k.package], cwd=pdir)
        debs = list(pdir.glob("*.deb"))
    k.root = pdir / "root"
    stamp = pdir / "extracted.stamp"
    if not stamp.exists():
        shutil.rmtree(k.root, ignore_errors=True)
        run(["dpkg-deb", "-x", str(debs[0]), str(k.root)])
        rel = sorted(p.name for p in (k.root / "lib/modules").iterdir())[0]
        run(["depmod", "-b", str(k.root), rel])
        stamp.write_text(rel)
    k.release = stamp.read_text().strip()


def module_order(k: Kernel) -> list[Path]:
    """The module files to insmod, dependencies first, each once."""
    order: list[Path] = []
    for m in MODULES:
        out = run(["modprobe", "-d", str(k.root), "-S", k.release, "--show-depends", m]).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "insmod":
                p = Path(parts[1])
                if p not in order:
                    order.append(p)
    return order


def module_bytes(p: Path) -> bytes:
    if p.suffix == ".xz":  # 6.12 ships .ko.xz; busybox insmod wants plain ELF
        return lzma.decompress(p.read_bytes())
    if p.suffix == ".zst":
        return subprocess.run(["zstd", "-dc", str(p)], check=True, capture_output=True).stdout
    return p.read_bytes()


# --- initramfs -------------------------------------------------------------

class Cpio:
    """A newc archive written directly: no root-owned staging tree, device nodes without mknod."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.ino = 1
        self.dirs: set[str] = set()

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
        self.ino += 1
        hdr = b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"
        self.parts.append(hdr + b"\0" * (-len(hdr) % 4))
        self.parts.append(data + b"\0" * (-len(data) % 4))

    def dir(self, name: str) -> None:
        name = name.strip("/")
        if not name or name in self.dirs:
            return
        self.dir(os.path.dirname(name))
        self.dirs.add(name)
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, mode: int = 0o755) -> None:
        name = name.strip("/")
        self.dir(os.path.dirname(name))
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        name = name.strip("/")
        self.dir(os.path.dirname(name))
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name: str, major: int, minor: int) -> None:
        name = name.strip("/")
        self.dir(os.path.dirname(name))
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def bytes(self) -> bytes:
        trailer = Cpio()
        trailer.ino = 0
        trailer._entry("TRAILER!!!", 0)
        return b"".join(self.parts + trailer.parts)


def shared_libs(elfs: list[Path]) -> list[Path]:
    """Every shared library (and the dynamic loader) the given executables load, by ldd."""
    libs: set[Path] = set()
    for e in elfs:
        out = subprocess.run(["ldd", str(e)], text=True, capture_output=True).stdout
        for line in out.splitlines():
            m = re.match(r"\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x", line)
            if m:
                libs.add(Path(m.group(1)))
    return sorted(libs)


def stripped(p: Path, cache: Path) -> bytes:
    """The binary without debug info (a quarter of the size, so a smaller guest RAM disk)."""
    out = cache / "stripped" / p.name
    out.parent.mkdir(parents=True, exist_ok=True)
    run(["objcopy", "--strip-debug", str(p), str(out)])
    return out.read_bytes()


def build_initramfs(k: Kernel, tests: list[TestBinary], agent: Path, cache: Path) -> Path:
    busybox = Path(shutil.which("busybox") or "/bin/busybox")
    elfs = [t.path for t in tests] + [agent] + [Path(t) for t in TOOLS]
    libs = shared_libs(elfs + [busybox])  # none for busybox-static; the dynamic busybox needs libc
    modules = module_order(k)
    init = HERE / "guest_init.sh"
    inputs = [busybox, init, *elfs, *libs, *modules]
    h = hashlib.sha256()
    for p in inputs:
        st = p.stat()
        h.update(f"{p}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    digest = h.hexdigest()[:16]
    out = cache / k.package / f"initramfs-{digest}.cpio"
    if out.exists():
        return out
    for old in out.parent.glob("initramfs-*.cpio"):
        old.unlink()

    c = Cpio()
    for d in ["proc", "sys", "dev", "run", "tmp", "var", "usr/bin", "usr/sbin", "tests", "modules"]:
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3)
    c.file("init", init.read_bytes())
    c.file("bin/busybox", busybox.read_bytes())
    c.symlink("bin/sh", "busybox")
    for src, dst in TOOLS.items():
        c.file(dst, Path(src).read_bytes())
    c.file("usr/bin/smi-agent", stripped(agent, cache))
    for lib in libs:
        c.file(str(lib), lib.resolve().read_bytes())  # at the path the binaries ask for
    for t in tests:
        c.file(f"tests/{t.path.name}", stripped(t.path, cache))
    names = []
    for m in modules:
        name = m.name.removesuffix(".xz").removesuffix(".zst")
        c.file(f"modules/{name}", module_bytes(m), 0o644)
        names.append(name)
    c.file("modules/order", ("\n".join(names) + "\n").encode(), 0o644)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(c.bytes())
    tmp.rename(out)
    return out


# --- results ---------------------------------------------------------------

@dataclasses.dataclass
class Verdict:
    name: str       # binary.Suite.Test
    result: str     # passed | failed | skipped
    message: str = ""


@dataclasses.dataclass
class KernelRun:
    column: str
    release: str = ""
    verdicts: list[Verdict] = dataclasses.field(default_factory=list)
    features: list[tuple[str, bool]] = dataclasses.field(default_factory=list)
    error: str = ""          # crash, hang, boot failure: the guest never reported
    seconds: float = 0.0
    attempts: int = 0
    console: Path | None = None

    def count(self, result: str) -> int:
        return sum(v.result == result for v in self.verdicts)


def gtest_verdicts(binary: str, doc: dict, output: str = "") -> list[Verdict]:
    reasons = skip_reasons(output)
    out = []
    for suite in doc.get("testsuites", []):
        for t in suite.get("testsuite", []):
            test = f"{suite['name']}.{t['name']}"
            if t.get("status") == "NOTRUN":
                continue
            failures = t.get("failures") or []
            if failures:
                msg = failures[0].get("failure", "").strip().splitlines()
                out.append(Verdict(f"{binary}.{test}", "failed", " / ".join(msg[:3])))
            elif t.get("result") == "SKIPPED":
                out.append(Verdict(f"{binary}.{test}", "skipped", reasons.get(test, "")))
            else:
                out.append(Verdict(f"{binary}.{test}", "passed"))
    return out


def skip_reasons(output: str) -> dict[str, str]:
    """Suite.Test -> the text given to GTEST_SKIP, read from gtest's own output
    (its JSON report does not carry it):
        [ RUN      ] Suite.Test
        file.cpp:12: Skipped
        missing kernel feature: ...
        [  SKIPPED ] Suite.Test (0 ms)"""
    reasons: dict[str, str] = {}
    current, collecting, text = "", False, []
    for line in output.splitlines():
        line = line.rstrip("\r")
        if line.startswith("[ RUN      ] "):
            current, collecting, text = line[13:].strip(), False, []
        elif line.startswith("[  SKIPPED ] ") and current:
            reasons[current] = " ".join(t for t in text if t).strip()
            collecting = False
        elif line.endswith(": Skipped"):
            collecting = True
        elif collecting:
            text.append(line.strip())
    return reasons


FEATURE_LINE = re.compile(r"^\s*\[(yes|no)\s*\]\s+(\S+)")


def parse_features(lines: list[str]) -> list[tuple[str, bool]]:
    out = []
    for line in lines:
        m = FEATURE_LINE.match(line)
        if m:
            out.append((m.group(2), m.group(1) == "yes"))
    return out


def parse_results(text: str, r: KernelRun) -> bool:
    """Fills r from the guest's report; False when the report never ended (crash, hang)."""
    lines = [l.rstrip("\r") for l in text.splitlines()]
    r.verdicts.clear()
    i, ended = 0, False
    while i < len(lines):
        line = lines[i]
        if line.startswith("KERNEL "):
            r.release = line.split(None, 1)[1]
        elif line == "FEATURES-BEGIN":
            j = lines.index("FEATURES-END", i) if "FEATURES-END" in lines[i:] else len(lines)
            r.features = parse_features(lines[i + 1:j])
            i = j
        elif line.startswith("BEGIN "):
            binary = line.split(None, 1)[1]
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith(f"END {binary} RC=")), None)
            if end is None:
                r.verdicts.append(Verdict(binary, "failed", "guest stopped while it ran"))
                break
            rc = int(lines[end].rsplit("=", 1)[1])
            mid = next((j for j in range(i + 1, end) if lines[j] == f"OUTPUT {binary}"), end)
            body = "\n".join(lines[i + 1:mid]).strip()
            output = "\n".join(lines[mid + 1:end])
            got = []
            if body:
                try:
                    got = gtest_verdicts(binary, json.loads(body), output)
                except json.JSONDecodeError as e:
                    got = [Verdict(binary, "failed", f"unreadable gtest JSON: {e}")]
            r.verdicts.extend(got)
            if rc == 143:
                r.verdicts.append(Verdict(binary, "failed", "killed by the per-binary time limit (hang?)"))
            elif rc != 0 and not any(v.result == "failed" for v in got):
                r.verdicts.append(Verdict(binary, "failed", f"exited {rc} without a failed test (crash?)"))
            i = end
        elif line.startswith("EXIT="):
            ended = True
        elif line.startswith("MODULE-FAILED "):
            r.verdicts.append(Verdict("insmod", "failed", line.split(None, 1)[1]))
        i += 1
    return ended


# --- guests ----------------------------------------------------------------

class Guest:
    def __init__(self, k: Kernel, initramfs: Path, workdir: Path, timeout: float, test_timeout: float):
        self.k, self.initramfs, self.workdir, self.timeout = k, initramfs, workdir, timeout
        self.test_timeout = test_timeout
        self.cmdline = KERNEL_CMDLINE
        self.run = KernelRun(k.column, k.release)
        self.proc: subprocess.Popen | None = None
        self.started = 0.0

    @property
    def console(self) -> Path:
        return self.workdir / f"console-{self.run.attempts}.log"

    @property
    def results(self) -> Path:
        return self.workdir / f"results-{self.run.attempts}.log"

    def start(self) -> None:
        self.run.attempts += 1
        self.workdir.mkdir(parents=True, exist_ok=True)
        for p in (self.console, self.results):
            p.unlink(missing_ok=True)
        argv = ["qemu-system-x86_64", *QEMU_ARGS, "-kernel", str(self.k.vmlinuz), "-initrd", str(self.initramfs),
                "-append", self.cmdline.format(int(self.test_timeout)), "-serial", f"file:{self.console}", "-serial", f"file:{self.results}"]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.workdir / "qemu.stderr", "w"))

    def poll(self) -> bool:
        """True when this guest is finished (reported, or failed for good)."""
        assert self.proc
        elapsed = time.monotonic() - self.started
        if self.proc.poll() is None and elapsed < self.timeout:
            return False
        hung = self.proc.poll() is None
        if hung:  # ours, by its PID
            self.proc.kill()
            self.proc.wait()
        self.run.seconds += elapsed
        text = self.results.read_text(errors="replace") if self.results.exists() else ""
        if parse_results(text, self.run):
            self.run.error = ""
            self.run.console = self.console
            return True
        why = f"no report after {self.timeout:.0f} s (hang)" if hung else \
            f"guest stopped without reporting (qemu exit {self.proc.returncode}; kernel panic or crash?)"
        self.run.error = why
        self.run.console = self.console
        if self.run.attempts < 2:
            log(f"{self.k.column}: {why}; retrying once")
            print_console(self.console, self.workdir / "qemu.stderr")
            self.start()
            return False
        return True


def print_console(console: Path, stderr: Path | None = None, tail: int = 200) -> None:
    text = console.read_text(errors="replace") if console.exists() else "(no console output)"
    lines = text.splitlines()[-tail:]
    print(f"----- console {console} (last {len(lines)} lines) -----")
    print("\n".join(l.rstrip("\r") for l in lines))
    if stderr and stderr.exists() and stderr.stat().st_size:
        print(f"----- qemu stderr -----\n{stderr.read_text(errors='replace')}")
    print("-----", flush=True)


# --- the host column -------------------------------------------------------

def run_on_host(tests: list[TestBinary], agent: Path, workdir: Path) -> KernelRun:
    r = KernelRun("host", os.uname().release)
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    sc = subprocess.run([str(agent), "selfcheck", "--bpffs", "/sys/fs/bpf"], text=True, capture_output=True)
    r.features = parse_features(sc.stdout.splitlines())
    log_path = workdir / "console.log"
    with open(log_path, "w") as console:
        for t in tests:
            js = workdir / f"{t.path.name}.json"
            js.unlink(missing_ok=True)
            console.write(f"=== {t.path.name}\n")
            console.flush()
            p = subprocess.run([str(t.path), f"--gtest_output=json:{js}"], cwd=t.workdir, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, errors="replace")
            console.write(p.stdout)
            got = gtest_verdicts(t.path.name, json.loads(js.read_text()), p.stdout) if js.exists() else []
            r.verdicts.extend(got)
            if p.returncode != 0 and not any(v.result == "failed" for v in got):
                r.verdicts.append(Verdict(t.path.name, "failed", f"exited {p.returncode} without a failed test"))
    r.seconds = time.monotonic() - t0
    r.attempts = 1
    r.console = log_path
    return r


# --- report ----------------------------------------------------------------

def unnamed_skips(r: KernelRun) -> list[Verdict]:
    return [v for v in r.verdicts if v.result == "skipped" and NAMED_SKIP not in v.message]


def report(runs: list[KernelRun], out: Path) -> bool:
    rows = [("kernel", "release", "passed", "failed", "skipped", "seconds")]
    ok = True
    for r in runs:
        failed = r.count("failed") + (1 if r.error else 0)
        bad_skips = unnamed_skips(r)
        ok &= failed == 0 and not bad_skips and r.count("passed") > 0
        rows.append((r.column, r.release or "?", str(r.count("passed")), str(failed), str(r.count("skipped")),
                     f"{r.seconds:.0f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["kernel matrix (bpf + e2e tests)"]
    for row in rows:
        lines.append("  " + "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    for r in runs:
        missing = [name for name, have in r.features if not have]
        probed = "no feature report" if not r.features else (
            f"missing features: {', '.join(missing)}" if missing else f"all {len(r.features)} probed features")
        lines.append(f"  {r.column}: {probed}")
    for r in runs:
        if r.error:
            lines.append(f"  {r.column}: GUEST FAILED after {r.attempts} attempt(s): {r.error}")
        for v in r.verdicts:
            if v.result == "failed":
                lines.append(f"  {r.column}: FAILED {v.name}: {v.message}")
        for v in r.verdicts:
            if v.result == "skipped":
                tag = "skipped" if NAMED_SKIP in v.message else "SKIPPED WITHOUT A NAMED FEATURE"
                lines.append(f"  {r.column}: {tag} {v.name}: {v.message or '(no reason given)'}")
    total = sum(len(r.verdicts) for r in runs)
    lines.append(f"vm matrix: {'PASSED' if ok else 'FAILED'}: {len(runs)} kernels, {total} test runs, "
                 f"{sum(r.count('failed') for r in runs)} failed, {sum(r.count('skipped') for r in runs)} skipped"
                 f" ({', '.join(f'{r.column}={r.release}' for r in runs)})")
    text = "\n".join(lines)
    print(text, flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".txt").write_text(text + "\n")
    out.with_suffix(".json").write_text(json.dumps([{
        "column": r.column, "release": r.release, "seconds": round(r.seconds, 1), "error": r.error,
        "features": dict(r.features),
        "verdicts": [dataclasses.asdict(v) for v in r.verdicts]} for r in runs], indent=1) + "\n")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", type=Path, required=True, help="the CMake build directory")
    ap.add_argument("--cache", type=Path, help="downloads and initramfs (default BUILD/vm-cache)")
    ap.add_argument("--labels", default="^(bpf|e2e)$", help="ctest labels whose binaries run in the guests")
    ap.add_argument("--kernels", default=",".join(DEFAULT_KERNELS),
                    help=f"columns to run, of {','.join(k[0] for k in KERNELS)} (default: {','.join(DEFAULT_KERNELS)})")
    ap.add_argument("--no-host", action="store_true", help="skip the host kernel's column")
    ap.add_argument("--binaries", help="only these test binaries (comma-separated names), to chase one failure")
    ap.add_argument("--kernel-log", action="store_true", help="boot without quiet, loglevel=7 (console-N.log)")
    ap.add_argument("--gtest-filter", help="only the tests matching this gtest filter, in every binary")
    # Measured: the whole bpf+e2e suite takes ~190 s per guest with both
    # guests side by side under TCG; the limits leave room for new tests.
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("SMI_VM_TIMEOUT", 900)),
                    help="seconds a guest may take before it is killed (and retried once)")
    ap.add_argument("--test-timeout", type=float, default=240,
                    help="seconds one test binary may take inside a guest")
    args = ap.parse_args()
    build = args.build.resolve()
    cache = (args.cache or build / "vm-cache").resolve()
    t0 = time.monotonic()

    for tool in ("qemu-system-x86_64", "busybox", "depmod", "modprobe", "objcopy", "apt-get"):
        if not shutil.which(tool):
            raise SystemExit(f"vm: {tool} not found: run deploy/setup.sh (qemu-system-x86, busybox-static, kmod)")
    if os.geteuid() != 0:
        raise SystemExit("vm: needs root (the host column and apt-get download)")

    tests = discover_tests(build, args.labels)
    if args.binaries:
        wanted = set(args.binaries.split(","))
        unknown = wanted - {t.path.name for t in tests}
        if unknown:
            raise SystemExit(f"vm: --binaries: no {', '.join(sorted(unknown))} among the {args.labels} test binaries")
        tests = [t for t in tests if t.path.name in wanted]
    if not tests:
        raise SystemExit(f"vm: no test binaries with labels {args.labels} in {build}")
    agent = build / "agent" / "smi-agent"
    log(f"test binaries: {' '.join(t.path.name for t in tests)}")

    wanted = [c for c in args.kernels.split(",") if c]
    kernels = [Kernel(c, meta, suite) for c, meta, suite in KERNELS if c in wanted]
    guests = []
    for k in kernels:
        fetch_kernel(k, cache)
        initramfs = build_initramfs(k, tests, agent, cache)
        log(f"{k.column}: {k.release}, initramfs {initramfs.stat().st_size >> 20} MiB")
        guests.append(Guest(k, initramfs, cache / "runs" / k.column, args.timeout, args.test_timeout))
        if args.kernel_log:
            guests[-1].cmdline = KERNEL_CMDLINE_VERBOSE
        if args.gtest_filter:
            if not re.fullmatch(r"[\w*?.:/-]+", args.gtest_filter):
                raise SystemExit(f"vm: --gtest-filter {args.gtest_filter!r}: only letters, digits and _*?.:/- pass "
                                 "through the kernel command line")
            guests[-1].cmdline += f" smi.gtest_filter={args.gtest_filter}"
    prep = time.monotonic() - t0

    runs = []
    if not args.no_host:
        host = run_on_host(tests, agent, cache / "runs" / "host")
        log(f"host: {host.count('passed')} passed, {host.count('failed')} failed in {host.seconds:.0f} s")
        runs.append(host)

    # Two guests at a time, one vCPU each on the two cores; the next starts
    # when one finishes.
    t1 = time.monotonic()
    waiting, running = list(guests), []
    while waiting or running:
        while waiting and len(running) < 2:
            g = waiting.pop(0)
            g.start()
            running.append(g)
        time.sleep(0.5)
        running = [g for g in running if not g.poll()]
    vms = time.monotonic() - t1
    runs += [g.run for g in guests]

    for r in runs:
        if (r.error or r.count("failed")) and r.console:
            print_console(r.console)
    ok = report(runs, cache / "matrix")
    log(f"wall time {time.monotonic() - t0:.0f} s (preparation {prep:.0f} s, guests side by side {vms:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
