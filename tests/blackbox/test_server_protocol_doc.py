"""PROTOCOL.md's examples run: the complete-session client of section 10 works against the
real server, and every unprompted message listed in section 9 is one the server's code
still writes."""
import glob
import os
import re
import subprocess
import sys
import unittest

import harness

PROTOCOL = os.path.join(harness.ROOT, "PROTOCOL.md")


def section(title_prefix):
    with open(PROTOCOL, encoding="utf-8") as f:
        text = f.read()
    start = text.index("\n## " + title_prefix)
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


class CompleteSessionTest(harness.ServerTestCase):
    def test_the_python_client_of_section_10_works(self):
        code = re.search(r"```python\n(.*?)```", section("10."), re.S).group(1)
        self.assertNotIn("recv(1024)", code)
        server = self.start_server()
        code = code.replace("65432", str(server.port))
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                timeout=harness.TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(len(lines), 2, result.stdout)
        self.assertTrue(lines[0].startswith("Welcome alice!"), lines[0])
        self.assertRegex(lines[1], r"^Server time: \d\d:\d\d:\d\d$")


class UnpromptedMessagesTest(unittest.TestCase):
    def test_every_listed_error_is_written_by_the_server(self):
        sources = ""
        for path in glob.glob(os.path.join(harness.ROOT, "src", "server", "*.cc")):
            with open(path, encoding="utf-8") as f:
                sources += f.read()
        rows = re.findall(r"^\| `(Error: [^`]*|Server shutting down)`", section("9."), re.M)
        self.assertGreaterEqual(len(rows), 10, rows)
        for text in rows:
            # The fixed words before the first number or placeholder (N, <name>), as in the
            # source.
            fixed = re.split(r"\d|N\b|<", text.removeprefix("Error: "))[0]
            with self.subTest(text=text):
                self.assertIn(fixed, sources)


if __name__ == "__main__":
    unittest.main()
