"""`OUTPUT_DIR/log_file.txt`: appended to, never truncated, and echoed to the console."""

import os
import sys


class RunLog:
    """Appends lines to the run's log file and prints them.

    Args:
        output_dir: the run's OUTPUT_DIR; the file is `log_file.txt` inside it.
    """

    def __init__(self, output_dir):
        self.path = os.path.join(output_dir, "log_file.txt")

    def __call__(self, line):
        print(line, file=sys.stdout, flush=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
