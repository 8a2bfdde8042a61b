"""The runner's reading of guest reports: verdicts, skip reasons, crashes, hangs."""
import json
import unittest

import run_matrix as rm

GTEST_OUTPUT = """[ RUN      ] RevokeTest.Kfunc
revoke_test.cpp:170: Skipped
missing kernel feature: kfunc:bpf_sock_destroy (revoking established connections inside the kernel)

[  SKIPPED ] RevokeTest.Kfunc (0 ms)
[ RUN      ] RevokeTest.Fallback
[       OK ] RevokeTest.Fallback (12 ms)
[ RUN      ] RevokeTest.Unnamed
x.cpp:1: Skipped
needs root

[  SKIPPED ] RevokeTest.Unnamed (0 ms)
"""


def gtest_json(*tests):
    return {"testsuites": [{"name": "RevokeTest", "testsuite": [dict(t) for t in tests]}]}


DOC = gtest_json(
    {"name": "Kfunc", "status": "RUN", "result": "SKIPPED"},
    {"name": "Fallback", "status": "RUN", "result": "COMPLETED"},
    {"name": "Unnamed", "status": "RUN", "result": "SKIPPED"},
    {"name": "Broken", "status": "RUN", "result": "COMPLETED",
     "failures": [{"failure": "revoke_test.cpp:9\nExpected equality\n  1\n  2", "type": ""}]},
    {"name": "DISABLED_Off", "status": "NOTRUN", "result": "SUPPRESSED"},
)


def report(*blocks, exit_line=True):
    lines = ["KERNEL 6.1.0-56-cloud-amd64", "FEATURES-BEGIN",
             "  [yes] prog:sk_lookup      server-side policy",
             "  [no ] kfunc:bpf_sock_destroy   revoking (without it: netlink:sock_destroy)",
             "FEATURES-END"]
    for b in blocks:
        lines += b
    if exit_line:
        lines.append("EXIT=0")
    return "\r\n".join(lines) + "\r\n"  # the guest's tty adds CRs


def block(name, doc, output, rc):
    return [f"BEGIN {name}", *json.dumps(doc, indent=1).splitlines(), f"OUTPUT {name}", *output.splitlines(),
            f"END {name} RC={rc}"]


class ParseTest(unittest.TestCase):
    def test_verdicts_and_skip_reasons(self):
        r = rm.KernelRun("6.1")
        self.assertTrue(rm.parse_results(report(block("revoke_test", DOC, GTEST_OUTPUT, 1)), r))
        self.assertEqual(r.release, "6.1.0-56-cloud-amd64")
        self.assertEqual(r.features, [("prog:sk_lookup", True), ("kfunc:bpf_sock_destroy", False)])
        got = {v.name: (v.result, v.message) for v in r.verdicts}
        self.assertEqual(got["revoke_test.RevokeTest.Kfunc"],
                         ("skipped", "missing kernel feature: kfunc:bpf_sock_destroy "
                                     "(revoking established connections inside the kernel)"))
        self.assertEqual(got["revoke_test.RevokeTest.Fallback"], ("passed", ""))
        self.assertEqual(got["revoke_test.RevokeTest.Broken"][0], "failed")
        self.assertIn("revoke_test.cpp:9", got["revoke_test.RevokeTest.Broken"][1])
        self.assertNotIn("revoke_test.RevokeTest.DISABLED_Off", got)
        self.assertEqual((r.count("passed"), r.count("failed"), r.count("skipped")), (1, 1, 2))
        self.assertEqual([v.name for v in rm.unnamed_skips(r)], ["revoke_test.RevokeTest.Unnamed"])

    def test_crash_without_json_is_a_failure(self):
        r = rm.KernelRun("6.1")
        self.assertTrue(rm.parse_results(report(["BEGIN t", "OUTPUT t", "Segmentation fault", "END t RC=139"]), r))
        self.assertEqual([(v.name, v.result) for v in r.verdicts], [("t", "failed")])
        self.assertIn("139", r.verdicts[0].message)

    def test_time_limit_is_named(self):
        r = rm.KernelRun("6.1")
        self.assertTrue(rm.parse_results(report(["BEGIN t", "OUTPUT t", "END t RC=143"]), r))
        self.assertIn("time limit", r.verdicts[0].message)

    def test_missing_exit_line_means_the_guest_died(self):
        r = rm.KernelRun("6.12")
        text = report(block("revoke_test", DOC, GTEST_OUTPUT, 1), ["BEGIN next", "{"], exit_line=False)
        self.assertFalse(rm.parse_results(text, r))
        self.assertEqual(r.verdicts[-1].name, "next")
        self.assertEqual(r.verdicts[-1].message, "guest stopped while it ran")


if __name__ == "__main__":
    unittest.main()
