"""The CPU the server side of a run took, so a result says how much of the machine was left.

On this 2-core machine the server shares the cores with the client it serves: when the
server alone needs about one CPU-second, no client can finish much under half a second,
whatever it does. The client's own CPU comes from wait4 (bench.timed). The server's is
the machine's busy time during the run (/proc/stat) less the client's: the server's
processes and the kernel's work for the loopback traffic. Counting the server's process
tree instead misses processes that outlive their parent: an sshd session's sftp process
is reparented to init and reaped there, and scp's 256 MiB upload then showed 0.03 s.
Anything else running on the machine counts too, so the figure means something only on
an otherwise idle machine.
"""
import os

RUN = os.environ.get("FERRY_TESTBED_RUN", "/tmp/ferry-testbed")
TICK = os.sysconf("SC_CLK_TCK")


def has_server(name):
    """Whether `scripts/testbed` runs a server for protocol `name` (sftp, s3, azure, ...)."""
    return os.path.exists(os.path.join(RUN, f"{name}.pid"))


def machine_busy():
    """CPU seconds all cores have spent busy since boot (user, nice, system, irq, softirq)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()  # "cpu user nice system idle iowait irq softirq ..."
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[1:8])
    return (user + nice + system + irq + softirq) / TICK


def server_cpu(busy_before, busy_after, client_cpu):
    """The run's CPU outside the client: the machine's busy time less the client's."""
    return max(0.0, busy_after - busy_before - client_cpu)
