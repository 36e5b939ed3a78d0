"""SIGKILL ``set`` and ``encrypt --in-place`` at random moments.

They have no external effect, so the promise is simpler: after any kill the
file is the old version or the new one (whole, MAC verified), no plaintext is
left once the next run is done, and the next run works.
"""

from __future__ import annotations

from tests.crash.conftest import OLD_PASSWORD, TRIALS, F, Lab


def test_set_killed_anywhere_leaves_the_old_or_the_new_file(lab: Lab) -> None:
    previous = OLD_PASSWORD
    for trial in range(TRIALS):
        new = f"set-value-{trial}-{lab.rng.randrange(10**9):09d}"
        args = ["set", F, "db.password", "--stdin"]
        lab.kill_during(args, 1.5, input=new.encode())
        now = lab.value("db.password")  # whole file, MAC verified
        assert now in (previous, new)
        again = lab.gv(*args, input=new.encode())  # the next run works
        assert again.returncode == 0, again.stderr
        assert lab.value("db.password") == new
        assert lab.value("api_token") == "tok-abc-123"  # the other keys are intact
        lab.seen.add(new)
        lab.assert_no_plaintext(lab.seen)
        previous = new


def test_encrypt_in_place_killed_anywhere(lab: Lab) -> None:
    for trial in range(TRIALS):
        rel = f"secrets/new-{trial}.yaml"
        value = f"plain-{trial}-{lab.rng.randrange(10**9):09d}"
        text = f"token: {value}\n"
        (lab.root / rel).write_text(text)
        lab.kill_during(["encrypt", rel, "--in-place"], 1.5)
        data = (lab.root / rel).read_bytes()
        if data != text.encode():
            assert lab.value("token", rel) == value  # encrypted, whole, MAC verified
        again = lab.gv("encrypt", rel, "--in-place")
        # Encrypting an encrypted file is refused (exit 5); a plaintext one works.
        assert again.returncode in ((0,) if data == text.encode() else (0, 5)), again.stderr
        assert lab.value("token", rel) == value
        lab.seen.add(value)
        lab.assert_no_plaintext(lab.seen)
