"""The loopback servers as benchmark endpoints: how ferry and rclone name a path there, how
to give it a fresh destination, fill it with a corpus, list it back for verification and
clean it up, and which other tools (peers) speak its protocol.

Servers are the project's testbed (scripts/testbed); everything here stays under a
`ferry-bench` directory, bucket or container, so tests running against the same servers are
not disturbed. Servers that keep their files on this machine's disk (sshd, pure-ftpd,
Apache, smbd) are set up and verified on disk, directly; S3 and Azure through rclone.
"""
import base64
import datetime
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
import urllib.parse

from corpus import few_files, manifest

BENCH = "ferry-bench"


class Tool:
    """One command line to time. `argv` holds {SRC} and {DST}; `kind` is ferry, rclone, peer or
    ref (a floor, not a competitor); `mtime` says whether its result keeps modification times."""

    def __init__(self, name, argv, kind="peer", env=None, mtime=True, version=None, missing=None):
        self.name, self.argv, self.kind, self.env = name, argv, kind, env or {}
        self.mtime, self.version, self.missing = mtime, version, missing

    def cmd(self, src, dst):
        return [a.replace("{SRC}", src).replace("{DST}", dst) for a in self.argv]


def sh(script):
    """A shell pipeline as a tool argv ($1 = source, $2 = destination)."""
    return ["sh", "-c", script, "sh", "{SRC}", "{DST}"]


def run_quiet(argv, env=None, what=""):
    p = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode:
        raise RuntimeError(f"{what or argv[0]} failed (rc={p.returncode}): {p.stderr.strip()[-400:]}")
    return p.stdout


class Endpoint:
    """Base: a protocol whose server keeps its files under `disk` on this machine."""
    name = ""
    disk = None  # where the server keeps its files on this machine
    owner = None  # user the server writes files as (set on what we copy in on disk)

    def __init__(self, env, rclone):
        self.env, self.rclone = env, rclone

    def rclone_env(self):
        return dict(os.environ, RCLONE_CONFIG="/dev/null", FERRY_CONFIG="/dev/null", AWS_EC2_METADATA_DISABLED="true")

    # --- naming
    def remote(self, path):
        raise NotImplementedError

    def disk_path(self, path):
        return os.path.join(self.disk, path)

    # --- lifecycle of a path below BENCH
    def prepare_root(self):
        os.makedirs(self.disk_path(BENCH), exist_ok=True)
        self.chown(self.disk_path(BENCH))

    def chown(self, path):
        if self.owner:
            subprocess.run(["chown", "-R", f"{self.owner}:", path], check=True)

    def populate(self, path, tree):
        """Makes `path` an exact copy of `tree` (untimed setup for no-op and download runs)."""
        self.remove(path)
        subprocess.run(["cp", "-a", tree, self.disk_path(path)], check=True)
        self.chown(self.disk_path(path))

    def listing(self, path):
        """{relpath: [size, mtime_s, md5]} of what `path` holds."""
        p = self.disk_path(path)
        if not os.path.isdir(p):
            return {}
        return manifest(p)

    def remove(self, path):
        """A tree of many files is moved aside now and deleted after the timed runs, as Local.fresh
        does with local destinations. This machine's root ext4 has no journal, and without one ext4
        will not reuse an inode freed in the last 30 s: making a file walks past every one of them.
        Deleting the last run's 2,000 files just before the next run made the server's creates the
        larger part of both tools' time (pure-ftpd: 12% of all CPU in `recently_deleted`; an FTP
        upload took 0.72 s in a scenario's first run and 2.1-2.3 s in its later ones)."""
        p = self.disk_path(path)
        if not os.path.lexists(p):
            return
        if few_files(p):
            shutil.rmtree(p, ignore_errors=True)
            return
        trash = self.disk_path(os.path.join(BENCH, ".trash"))
        os.makedirs(trash, exist_ok=True)
        os.rename(p, os.path.join(trash, f"{os.path.basename(p)}.{time.time_ns()}"))

    def cleanup(self):
        if self.disk:
            shutil.rmtree(self.disk_path(os.path.join(BENCH, ".trash")), ignore_errors=True)

    def peers(self, direction):
        """Tools other than ferry and rclone for this protocol and direction (up, down, noop)."""
        return []


class Sftp(Endpoint):
    name = "sftp"

    def __init__(self, env, rclone):
        super().__init__(env, rclone)
        self.disk = env["FERRY_TEST_SFTP_ROOT"]
        self.owner = env["FERRY_TEST_SFTP_USER"]
        self.user, self.port = env["FERRY_TEST_SFTP_USER"], env["FERRY_TEST_SFTP_PORT"]
        self.key, self.kh = env["FERRY_TEST_SFTP_KEY"], env["FERRY_TEST_SFTP_KNOWN_HOSTS"]

    def remote(self, path):
        # Explicit hash commands: with no config file rclone cannot keep detected ones, and its
        # concurrent checkers then race the detection.
        return (f":sftp,host=127.0.0.1,port={self.port},user={self.user},key_file={self.key},"
                f"known_hosts_file={self.kh},md5sum_command=md5sum,sha1sum_command=sha1sum:{path}")

    def ssh_opts(self):
        return ["-F", "/dev/null", "-i", self.key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", f"UserKnownHostsFile={self.kh}", "-o", "StrictHostKeyChecking=yes"]

    def peers(self, direction):
        ssh = " ".join(["ssh", "-p", self.port] + self.ssh_opts())
        at = f"{self.user}@127.0.0.1:"
        scp = ["scp", "-rpq", "-P", self.port] + self.ssh_opts()
        if direction in ("up", "noop"):
            out = [Tool("rsync", ["rsync", "-a", "--delete", "-e", ssh, "{SRC}/", at + "{DST}/"])]
            if direction == "up":
                out.append(Tool("scp", scp + ["{SRC}", at + "{DST}"], kind="ref"))
            return out
        return [Tool("rsync", ["rsync", "-a", "-e", ssh, at + "{SRC}/", "{DST}/"]),
                Tool("scp", scp + [at + "{SRC}", "{DST}"], kind="ref")]


class Ftp(Endpoint):
    name = "ftp"

    def __init__(self, env, rclone):
        super().__init__(env, rclone)
        self.disk, self.owner = env["FERRY_TEST_FTP_ROOT"], env["FERRY_TEST_FTP_USER"]
        self.spec = (f":ftp,host=127.0.0.1,port={env['FERRY_TEST_FTP_PORT']},user={env['FERRY_TEST_FTP_USER']},"
                     f"pass={obscure(rclone, env['FERRY_TEST_FTP_PASS'])}:")

    def remote(self, path):
        return self.spec + path


class Webdav(Endpoint):
    name = "webdav"
    owner = "www-data"

    def __init__(self, env, rclone):
        super().__init__(env, rclone)
        self.disk = env["FERRY_TEST_WEBDAV_ROOT"]
        self.spec = (f":webdav,url='{env['FERRY_TEST_WEBDAV_URL']}',user={env['FERRY_TEST_WEBDAV_USER']},"
                     f"pass={obscure(rclone, env['FERRY_TEST_WEBDAV_PASS'])}:")

    def remote(self, path):
        return self.spec + path


class Smb(Endpoint):
    name = "smb"

    def __init__(self, env, rclone):
        super().__init__(env, rclone)
        self.disk, self.share = env["FERRY_TEST_SMB_ROOT"], env["FERRY_TEST_SMB_SHARE"]
        self.spec = (f":smb,host=127.0.0.1,port={env['FERRY_TEST_SMB_PORT']},user={env['FERRY_TEST_SMB_USER']},"
                     f"pass={obscure(rclone, env['FERRY_TEST_SMB_PASS'])}:{self.share}/")

    def remote(self, path):
        return self.spec + path


class ObjectStore(Endpoint):
    """S3 and Azure: set up with rclone, verified from a listing (size and the MD5 the server
    keeps), files without a stored MD5 downloaded and hashed."""
    disk = None

    def prepare_root(self):
        # the bucket or container (paths below start with its name)
        run_quiet([self.rclone, "mkdir", self.remote(BENCH)], self.rclone_env(), f"creating {self.name} {BENCH}")

    def populate(self, path, tree):
        self.remove(path)
        run_quiet([self.rclone, "copy", tree, self.remote(path), "--transfers", "8"], self.rclone_env(),
                  f"filling {self.name} {path}")

    def remove(self, path):
        subprocess.run([self.rclone, "purge", self.remote(path)], env=self.rclone_env(),
                       capture_output=True, stdin=subprocess.DEVNULL)

    def listing(self, path):
        out = run_quiet([self.rclone, "lsjson", "-R", "--files-only", "--hash", "--hash-type", "md5",
                         self.remote(path)], self.rclone_env(), f"listing {self.name} {path}")
        found = {}
        for e in json.loads(out or "[]"):
            md5 = (e.get("Hashes") or {}).get("md5") or None
            if md5 is None:  # no stored MD5 (a multipart or block upload): read it back
                md5 = self.download_md5(f"{path}/{e['Path']}")
            found[e["Path"]] = [e["Size"], None, md5]
        return found

    def download_md5(self, path):
        p = subprocess.Popen([self.rclone, "cat", self.remote(path)], env=self.rclone_env(),
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        h = hashlib.md5()
        for block in iter(lambda: p.stdout.read(1 << 20), b""):
            h.update(block)
        return h.hexdigest() if p.wait() == 0 else "unreadable"


class S3(ObjectStore):
    name = "s3"

    def __init__(self, env, rclone, s5cmd):
        super().__init__(env, rclone)
        self.url = env["FERRY_TEST_S3_ENDPOINT"]
        self.s5cmd = s5cmd
        self.creds = dict(AWS_ACCESS_KEY_ID=env["FERRY_TEST_S3_ACCESS_KEY"],
                          AWS_SECRET_ACCESS_KEY=env["FERRY_TEST_S3_SECRET_KEY"],
                          AWS_REGION=env["FERRY_TEST_S3_REGION"])
        self.spec = (f":s3,provider=Other,access_key_id={self.creds['AWS_ACCESS_KEY_ID']},"
                     f"secret_access_key={self.creds['AWS_SECRET_ACCESS_KEY']},endpoint='{self.url}',"
                     f"region={self.creds['AWS_REGION']},force_path_style=true:")

    def remote(self, path):
        return self.spec + path

    def peers(self, direction):
        if not self.s5cmd:
            return [Tool("s5cmd", [], missing="not installed (scripts/testbed install puts it in the venv)")]
        base = [self.s5cmd, "--endpoint-url", self.url]
        url = "s3://"
        env = dict(self.creds, AWS_EC2_METADATA_DISABLED="true")
        # s5cmd keeps no modification time (S3 has none of its own).
        if direction == "up":
            argv = base + ["cp", "{SRC}/*", url + "{DST}/"]
        elif direction == "noop":
            argv = base + ["sync", "--delete", "{SRC}/", url + "{DST}/"]
        else:
            argv = base + ["cp", url + "{SRC}/*", "{DST}/"]
        return [Tool("s5cmd", argv, env=env, mtime=False)]


class Azure(ObjectStore):
    name = "azure"

    def __init__(self, env, rclone, azcopy, state_dir):
        super().__init__(env, rclone)
        self.endpoint = env["FERRY_TEST_AZ_ENDPOINT"].rstrip("/")
        self.account, self.key = env["FERRY_TEST_AZ_ACCOUNT"], env["FERRY_TEST_AZ_KEY"]
        self.azcopy, self.state = azcopy, state_dir
        self.spec = f":azureblob,account={self.account},key='{self.key}',endpoint='{self.endpoint}':"

    def remote(self, path):
        return self.spec + path

    def url(self, path, glob=""):
        return f"{self.endpoint}/{path}{glob}?{account_sas(self.account, self.key)}"

    def peers(self, direction):
        if not self.azcopy:
            return [Tool("azcopy", [], missing="not installed (scripts/testbed install puts it under node_modules)")]
        env = dict(HOME=self.state, AZCOPY_LOG_LOCATION=os.path.join(self.state, "logs"),
                   AZCOPY_JOB_PLAN_LOCATION=os.path.join(self.state, "plans"), AZCOPY_DISABLE_SYSLOG="true")
        # --put-md5 as rclone stores an MD5 too; --skip-version-check keeps it from calling home.
        common = ["--log-level", "ERROR", "--skip-version-check"]
        if direction == "up":
            argv = [self.azcopy, "copy", "{SRC}/*", self.url("{DST}"), "--recursive", "--from-to", "LocalBlob",
                    "--put-md5"] + common
        elif direction == "noop":
            argv = [self.azcopy, "sync", "{SRC}", self.url("{DST}"), "--delete-destination", "true",
                    "--from-to", "LocalBlob", "--put-md5"] + common
        else:
            argv = [self.azcopy, "copy", self.url("{SRC}", "/*"), "{DST}", "--recursive", "--from-to",
                    "BlobLocal"] + common
        return [Tool("azcopy", argv, env=env, mtime=False)]


class Gcs(ObjectStore):
    """The testbed's GCS emulator (single-threaded, in memory), anonymous; no peer tool."""
    name = "gcs"

    def __init__(self, env, rclone):
        super().__init__(env, rclone)
        self.spec = (f":gcs,endpoint='{env['FERRY_TEST_GCS_ENDPOINT']}',anonymous=true,"
                     f"project_number={env['FERRY_TEST_GCS_PROJECT']}:")

    def remote(self, path):
        return self.spec + path


class Crypt(ObjectStore):
    """An rclone crypt remote over a directory of this machine (encrypting is an upload,
    decrypting a download). Set up with rclone and verified by decrypting the tree with rclone
    into a scratch directory: what ferry wrote must read back through rclone byte for byte."""
    name = "crypt"

    def __init__(self, rclone, store):
        super().__init__({}, rclone)
        self.store = store
        self.deferred = []
        os.makedirs(store, exist_ok=True)
        # Fixed bench passwords (not secrets): the same section for ferry and rclone.
        self.spec = (f":crypt,remote='{store}',password={obscure(rclone, 'ferry-bench-password')},"
                     f"password2={obscure(rclone, 'ferry-bench-salt')}:")

    def remote(self, path):
        return self.spec + path

    def remove(self, path):
        """Many files are purged after the timed runs, as local destinations are moved aside:
        ext4 creates files slowly just after deleting many, which taxed the next tool (one
        crypt-small-up run took 0.2 s, the next 1.5 s). A few large ones are purged now."""
        out = subprocess.run([self.rclone, "size", "--json", self.remote(path)], env=self.rclone_env(),
                             capture_output=True, text=True, stdin=subprocess.DEVNULL)
        try:
            count = json.loads(out.stdout)["count"] if out.returncode == 0 else 0
        except (ValueError, KeyError):
            count = 0
        if count > 16:
            self.deferred.append(path)
        elif out.returncode == 0:
            super().remove(path)

    def cleanup(self):
        for path in self.deferred:
            super().remove(path)
        self.deferred.clear()

    def listing(self, path):
        out = os.path.join(self.store + "-check", path.replace("/", "_"))
        shutil.rmtree(out, ignore_errors=True)
        try:
            run_quiet([self.rclone, "copy", self.remote(path), out], self.rclone_env(),
                      f"decrypting {path} with rclone")
            return manifest(out) if os.path.isdir(out) else {}
        finally:
            shutil.rmtree(out, ignore_errors=True)


def account_sas(account, key):
    """An account SAS (all permissions, 3 hours) signed with the emulator's published dev key:
    azcopy takes no shared key."""
    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    st = (now - datetime.timedelta(minutes=5)).strftime(fmt)
    se = (now + datetime.timedelta(hours=3)).strftime(fmt)
    sv, sp, ss, srt, spr = "2020-08-04", "rwdlacup", "b", "sco", "https,http"
    to_sign = f"{account}\n{sp}\n{ss}\n{srt}\n{st}\n{se}\n\n{spr}\n{sv}\n"
    sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()).decode()
    return urllib.parse.urlencode(dict(sv=sv, ss=ss, srt=srt, sp=sp, st=st, se=se, spr=spr, sig=sig))


def obscure(rclone, secret):
    return run_quiet([rclone, "obscure", secret], dict(os.environ, RCLONE_CONFIG="/dev/null")).strip()
