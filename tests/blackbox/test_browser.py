"""The chat page in a real browser: headless Chromium driven by Selenium (Debian's chromium,
chromium-driver and python3-selenium; run with /usr/bin/python3, see CMakeLists.txt).

Two browser sessions and a TCP client chat with each other (a DM each way and shouts); the
online list, unread counts, a refused name, the XSS case, a narrow phone screen, and a
server killed and restarted on the same ports, after which the page rejoins and sends the
message that was being typed. A screenshot is written to $CLASSCHAT_SCREENSHOT if set
(docs/browser.png is the newest one, committed by hand).
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, TimeoutException
    from selenium.webdriver.chrome.service import Service as ChromeService
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    HAVE_SELENIUM = True
except ImportError:  # pragma: no cover - reported as a skip
    HAVE_SELENIUM = False

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT = max(15.0, harness.TIMEOUT * 1.5)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FixedPortServer:
    """classchatd on fixed ports, so that it can be killed and started again on them."""

    def __init__(self, port, http_port):
        self.port, self.http_port = port, http_port
        self.log_file = tempfile.NamedTemporaryFile(prefix="classchatd-browser-", suffix=".log",
                                                    delete=False)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [harness.SERVER_BINARY, "--host", "127.0.0.1", "--port", str(self.port),
             "--http-port", str(self.http_port), "--threads", "2"],
            stdout=subprocess.DEVNULL, stderr=self.log_file)
        deadline = time.monotonic() + harness.TIMEOUT
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.http_port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("classchatd exited:\n" + self.log())
                time.sleep(0.05)
        raise RuntimeError("classchatd did not start:\n" + self.log())

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=harness.TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self):
        with open(self.log_file.name, encoding="utf-8", errors="replace") as f:
            return f.read()


@unittest.skipUnless(HAVE_SELENIUM and os.path.exists(CHROMEDRIVER),
                     "needs python3-selenium, chromium and chromium-driver")
class BrowserTest(unittest.TestCase):
    def setUp(self):
        self.server = FixedPortServer(free_port(), free_port())
        self.server.start()
        self.addCleanup(os.unlink, self.server.log_file.name)
        self.addCleanup(self.stop_server)
        self.url = f"http://127.0.0.1:{self.server.http_port}/"

    def stop_server(self):
        """Stops the server; a crash or a sanitizer report (exit code not 0) fails the test."""
        self.server.stop()
        if self.server.proc.returncode != 0:
            self.fail(f"classchatd exited with {self.server.proc.returncode}:\n"
                      f"{self.server.log()[-4000:]}")

    def browser(self, width=1200, height=850, phone=False):
        options = webdriver.ChromeOptions()
        if phone:
            # A window cannot be narrower than about 500 px; emulate the phone's screen.
            options.add_experimental_option("mobileEmulation", {
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 2}})
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--no-first-run", "--disable-extensions", f"--window-size={width},{height}"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=ChromeService(CHROMEDRIVER), options=options)
        self.addCleanup(driver.quit)
        driver.get(self.url)
        return driver

    # --- page helpers --------------------------------------------------------------------

    def wait(self, driver, predicate, what):
        try:
            return WebDriverWait(driver, WAIT, poll_frequency=0.05).until(lambda d: predicate(d))
        except TimeoutException:
            self.fail(f"timed out waiting for {what}; status "
                      f"{driver.find_element(By.ID, 'status').text!r}\n{self.server.log()[-2000:]}")

    def join(self, driver, name):
        field = driver.find_element(By.ID, "name")
        field.clear()
        field.send_keys(name, Keys.ENTER)

    def wait_connected(self, driver, name):
        self.wait(driver, lambda d: d.find_element(By.ID, "status").text == f"Connected as {name}",
                  f"{name} to be connected")

    def type_message(self, driver, text, enter=True):
        box = driver.find_element(By.ID, "message")
        box.send_keys(text)
        if enter:
            box.send_keys(Keys.ENTER)

    # The page re-renders lists as messages arrive: each read is one script, so it never
    # holds an element that was replaced meanwhile.
    def texts(self, driver):
        return driver.execute_script(
            "return [...document.querySelectorAll('#messages li .text')].map(e => e.textContent)")

    def wait_text(self, driver, text):
        self.wait(driver, lambda d: text in self.texts(d), f"message {text!r}")

    def conversation_badges(self, driver):
        """{conversation title: unread count} from the sidebar."""
        return driver.execute_script("""
            const out = {};
            for (const b of document.querySelectorAll('#conversations button')) {
              const badge = b.querySelector('.badge');
              out[b.querySelector('.name').textContent] = badge ? Number(badge.textContent) : 0;
            }
            return out;""")

    def open_conversation(self, driver, title):
        clicked = driver.execute_script("""
            for (const b of document.querySelectorAll('#conversations button')) {
              if (b.querySelector('.name').textContent === arguments[0]) { b.click(); return true; }
            }
            return false;""", title)
        self.assertTrue(clicked, f"no conversation {title!r}: {self.conversation_badges(driver)}")

    def online_names(self, driver):
        return driver.execute_script(
            "return [...document.querySelectorAll('#online .name')].map(e => e.textContent)")

    # --- the test ------------------------------------------------------------------------

    def test_two_browsers_and_a_tcp_client_chat_and_the_page_rejoins_after_a_restart(self):
        ann = self.browser()
        self.join(ann, "ann")
        self.wait_connected(ann, "ann")

        ben = self.browser()
        # A refused name: the server's reason appears next to the Name field.
        self.join(ben, "ANN")
        self.wait(ben, lambda d: "already taken" in d.find_element(By.ID, "join-error").text,
                  "the refusal next to the Name field")
        self.assertTrue(ben.find_element(By.ID, "name").is_displayed())
        self.join(ben, "ben")
        self.wait_connected(ben, "ben")

        tom = harness.register(self.server.port, "tom")
        self.addCleanup(tom.close)

        # The online list, with its count, after a typed /list.
        self.type_message(ann, "/list")
        self.wait(ann, lambda d: set(self.online_names(d)) == {"ann (you)", "ben", "tom"},
                  "ann's online list")
        self.assertEqual(ann.find_element(By.ID, "online-count").text, "(3)")
        self.wait_text(ann, "Online users (2): ben, tom")
        # The filter narrows the list.
        ann.find_element(By.ID, "filter").send_keys("to")
        self.wait(ann, lambda d: self.online_names(d) == ["tom"], "the filtered list")
        ann.find_element(By.ID, "filter").send_keys(Keys.BACKSPACE, Keys.BACKSPACE)
        self.wait(ann, lambda d: len(self.online_names(d)) == 3, "the whole list again")

        # Browser to browser, with an unread count on the other side.
        self.type_message(ann, "@ben hello ben")
        self.wait(ben, lambda d: self.conversation_badges(d).get("ann") == 1, "ben's unread count")
        self.open_conversation(ben, "ann")
        self.wait_text(ben, "hello ben")
        self.assertEqual(self.conversation_badges(ben)["ann"], 0)
        self.type_message(ben, "hi ann")  # in ann's conversation: a DM to ann
        self.wait_text(ann, "hi ann")     # ann is in ben's conversation since her @ben

        # TCP to browser and back; the browser's ip is its own address.
        tom.send("ann", "hello from the terminal")
        self.wait(ann, lambda d: self.conversation_badges(d).get("tom") == 1, "ann's unread from tom")
        self.type_message(ann, "@tom hi tom")
        frame = tom.recv()
        self.assertEqual(frame, {"from": {"name": "ann", "ip": "127.0.0.1"}, "to": "tom",
                                 "msg": "hi tom"})
        self.wait_text(ann, "hello from the terminal")

        # Shouts: from TCP to both pages (Everyone), and from a page to everyone.
        tom.send("/shout", "class starts now")
        self.assertIn("sent to 2", tom.recv_msg())
        self.wait(ann, lambda d: self.conversation_badges(d).get("Everyone") == 1,
                  "ann's unread shout")
        self.type_message(ann, "/shout hello everyone")
        self.assertEqual(tom.recv(), {"from": {"name": "ann", "ip": "127.0.0.1"},
                                      "to": "Everyone", "msg": "hello everyone"})
        self.wait(ann, lambda d: "class starts now" in self.texts(d), "the shout in Everyone")
        self.open_conversation(ben, "Everyone")
        self.wait_text(ben, "hello everyone")
        self.wait_text(ben, "class starts now")

        # Server replies look different from people's messages.
        self.type_message(ben, "/time")
        self.wait(ben, lambda d: any(t.startswith("Server time: ") for t in self.texts(d)),
                  "the /time reply")
        reply = ben.find_elements(By.CSS_SELECTOR, "#messages li.server")
        self.assertTrue(reply, "server replies carry the 'server' class")

        # XSS: markup in a message is shown as text.
        xss = "<img src=x onerror=alert(1)>"
        tom.send("ben", xss)
        self.wait(ben, lambda d: self.conversation_badges(d).get("tom") == 1, "ben's unread from tom")
        self.open_conversation(ben, "tom")
        self.wait_text(ben, xss)
        self.assertEqual(ben.find_elements(By.CSS_SELECTOR, "#messages img"), [])
        with self.assertRaises(NoAlertPresentException):
            ben.switch_to.alert.text
        self.assertEqual(ben.execute_script("return document.querySelectorAll('img').length"), 0)

        # A screenshot of the page in use: ann reads the shouts, with a DM unread.
        shot = os.environ.get("CLASSCHAT_SCREENSHOT")
        if shot:
            self.open_conversation(ann, "Everyone")
            tom.send("ann", "see you in room 4")
            self.wait(ann, lambda d: self.conversation_badges(d).get("tom") == 1, "the unread DM")
            ann.save_screenshot(shot)

        # Kill the server mid-typing; restarted on the same ports, both pages rejoin and the
        # typed message survives.
        self.open_conversation(ann, "ben")
        self.type_message(ann, "still here after the restart", enter=False)
        tom.close()
        self.server.kill()
        self.wait(ann, lambda d: d.find_element(By.ID, "status").get_attribute("data-state")
                  in ("reconnecting", "connecting"), "ann to notice the lost connection")
        self.assertIn("ann", ann.find_element(By.ID, "status").text)
        self.server.start()
        self.wait_connected(ann, "ann")
        self.wait_connected(ben, "ben")
        self.assertEqual(ann.find_element(By.ID, "message").get_attribute("value"),
                         "still here after the restart")
        ann.find_element(By.ID, "message").send_keys(Keys.ENTER)
        self.open_conversation(ben, "ann")
        self.wait_text(ben, "still here after the restart")

    def test_the_page_fits_a_360_px_phone_and_its_assets_are_typed(self):
        phone = self.browser(width=360, height=740, phone=True)
        self.assertEqual(phone.execute_script("return window.innerWidth"), 360)
        self.join(phone, "pia")
        self.wait_connected(phone, "pia")
        width = phone.execute_script("return document.documentElement.scrollWidth")
        self.assertLessEqual(width, 360)
        self.assertTrue(phone.find_element(By.ID, "message").is_displayed())
        self.assertTrue(phone.find_element(By.ID, "send-button").is_displayed())
        # The people panel opens from its button on a narrow screen.
        self.assertFalse(phone.find_element(By.ID, "online").is_displayed())
        phone.find_element(By.ID, "people-toggle").click()
        self.wait(phone, lambda d: d.find_element(By.ID, "online").is_displayed(), "the panel")
        # Keep-alive and Content-Type for the page's files.
        with socket.create_connection(("127.0.0.1", self.server.http_port), timeout=5) as s:
            types = []
            for path in ("/", "/app.js", "/style.css"):
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                data = b""
                while b"\r\n\r\n" not in data:
                    data += s.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
                length = int(fields["Content-Length"])
                while len(body) < length:
                    body += s.recv(65536)
                self.assertEqual(fields["Connection"], "keep-alive")
                types.append(fields["Content-Type"])
        self.assertEqual(types, ["text/html; charset=utf-8", "text/javascript; charset=utf-8",
                                 "text/css; charset=utf-8"])


if __name__ == "__main__":
    unittest.main()
