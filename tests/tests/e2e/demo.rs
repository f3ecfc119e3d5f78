//! `tocsin demo` end to end: the built binary, the built plugins, the sample
//! rules and events from examples/.

use std::process::Command;
use tocsin_tests::*;

/// The demo prints which rules fired and what the plugin wrote, and stores the events.
#[test]
fn demo_shows_firings_and_log_lines() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(tocsin_bin())
        .current_dir(workspace_root())
        .args(["demo", "--data"])
        .arg(data.path())
        .arg("--plugins")
        .arg(plugins_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("rule new-tickets \"Log every new ticket\" fired"),
        "{stdout}"
    );
    // Conditions: only the items idle over 30 minutes reach the digest.
    assert!(
        stdout.contains("action 1 log-file/log-to-file digest items [1001, 1002] -> ok: wrote 3 line(s) to idle-digest.log"),
        "{stdout}"
    );
    assert!(
        stdout.contains("no rule fired"),
        "the disabled rule must not fire:\n{stdout}"
    );
    assert!(
        stdout.contains("5 event(s) stored, 6 firing(s), 8 invocation(s) ok, 0 failed"),
        "{stdout}"
    );
    // Ticket 1001 (IT, default UTC calendar) arrives Saturday 09:00: outside hours.
    // Ticket 1002 (Billing, no calendar of its own, so its brand's: New York)
    // arrives Monday 09:05 UTC, 04:05 in New York: outside hours too.
    let after_hours =
        std::fs::read_to_string(data.path().join("demo-logs/after-hours.log")).unwrap();
    assert_eq!(after_hours.lines().count(), 2, "{after_hours}");
    assert!(
        after_hours.contains("ticket#1001") && after_hours.contains("ticket#1002"),
        "{after_hours}"
    );
    // Templates: the message names each ticket's priority and department.
    assert!(
        after_hours.contains("page the on-call agent (urgent, IT)"),
        "{after_hours}"
    );
    // The frequency gate: the second idle digest within the hour is suppressed
    // and the audit says until when; the per-item action has no limit.
    assert!(
        stdout.contains("action 1 log-file/log-to-file digest items [1004] -> suppressed until "),
        "{stdout}"
    );
    assert!(
        stdout.contains("action 2 log-file/log-to-file per-item items [1004] -> ok"),
        "{stdout}"
    );
    let digest = std::fs::read_to_string(data.path().join("demo-logs/idle-digest.log")).unwrap();
    assert_eq!(digest.lines().count(), 3, "{digest}");
    assert!(
        stdout.contains(digest.lines().next().unwrap()),
        "the demo prints the file's lines"
    );
}

/// A rule naming an action the plugin does not have is refused with its path.
#[test]
fn demo_refuses_a_rule_with_an_unknown_action() {
    let data = tempfile::tempdir().unwrap();
    let examples = tempfile::tempdir().unwrap();
    let demo = examples.path().join("demo");
    std::fs::create_dir_all(&demo).unwrap();
    let src = workspace_root().join("examples/demo");
    for f in ["grants.toml", "events.jsonl"] {
        std::fs::copy(src.join(f), demo.join(f)).unwrap();
    }
    std::fs::write(
        demo.join("rules.json"),
        r#"{"rules":[{"id":"r1","name":"n","category":"ticket","event_type":"ticket-created",
            "actions":[{"plugin":"log-file","action":"log-to-fil","mode":"digest"}]}]}"#,
    )
    .unwrap();
    let out = Command::new(tocsin_bin())
        .args(["demo", "--data"])
        .arg(data.path())
        .arg("--plugins")
        .arg(plugins_dir())
        .arg("--examples")
        .arg(examples.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rule `r1`: rules[0].actions[0].action: \"log-to-fil\" is not an action of ticket/ticket-created"), "{stderr}");
}
