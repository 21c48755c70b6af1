"""Helpers shared by the benchmark scripts."""
import os
import platform


def cpu_model():
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line():
    """One line describing this machine, for the head of a report."""
    return (f'machine: {platform.platform()}, {cpu_model()}, '
            f'{os.cpu_count()} CPUs, Python {platform.python_version()}')
