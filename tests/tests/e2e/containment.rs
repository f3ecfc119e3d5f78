//! Faults stay inside their invocation: endless loops, memory blow-ups, traps,
//! panics, oversized output, endless recursion, and attempts to leave the
//! granted directory.

use std::sync::Arc;
use tocsin::plugins::bindings::Mode;
use tocsin::plugins::{Grants, InvokeError};
use tocsin_tests::*;

fn call(action: &str) -> tocsin::plugins::bindings::Invocation {
    invocation(
        action,
        Mode::Digest,
        serde_json::json!({}),
        vec![ticket("1", "s")],
    )
}

/// An endless loop is stopped at its deadline; the next invocation of another plugin succeeds.
#[tokio::test]
async fn endless_loop_is_stopped_at_deadline_and_others_keep_running() {
    let rt = runtime();
    let bad = load_guest(&rt, "misbehave").await.unwrap();
    let good = load_plugin(&rt, "log-file").await.unwrap();
    let grants = Arc::new(Grants {
        deadline_ms: 300,
        ..Grants::default()
    });
    let err = rt.invoke(&bad, grants, call("spin")).await.unwrap_err();
    assert!(
        matches!(
            err,
            InvokeError::Deadline {
                deadline_ms: 300,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "plugin `misbehave` was stopped at its deadline of 300 ms"
    );

    let dir = tempfile::tempdir().unwrap();
    let inv = invocation(
        "log-to-file",
        Mode::PerItem,
        serde_json::json!({"file": "after.log"}),
        vec![ticket("9", "after")],
    );
    rt.invoke(&good, dir_grant(dir.path()), inv).await.unwrap();
    assert!(std::fs::read_to_string(dir.path().join("after.log"))
        .unwrap()
        .contains("ticket#9"));
    // The same plugin is fine again with a fresh instance.
    rt.invoke(&bad, Default::default(), call("ok"))
        .await
        .unwrap();
}

/// Growing memory past the cap fails with an error naming the cap; the host keeps going.
#[tokio::test]
async fn memory_blowup_fails_with_clear_error() {
    let rt = runtime();
    let bad = load_guest(&rt, "misbehave").await.unwrap();
    let grants = Arc::new(Grants {
        memory_mib: 16,
        ..Grants::default()
    });
    let err = rt
        .invoke(&bad, grants.clone(), call("grow-memory"))
        .await
        .unwrap_err();
    match &err {
        InvokeError::MemoryCap {
            cap_mib,
            wanted_mib,
            ..
        } => {
            assert_eq!(*cap_mib, 16);
            assert!(*wanted_mib > 16, "{err}");
        }
        other => panic!("expected a memory cap error, got {other}"),
    }
    assert!(
        err.to_string()
            .contains("exceeded its memory cap of 16 MiB"),
        "{err}"
    );
    assert!(!err.retryable());
    rt.invoke(&bad, grants, call("ok")).await.unwrap();
}

/// A trap and a Rust panic each fail only their invocation, as traps.
#[tokio::test]
async fn trap_and_panic_fail_only_their_invocation() {
    let rt = runtime();
    let bad = load_guest(&rt, "misbehave").await.unwrap();
    for action in ["trap", "panic"] {
        let err = rt
            .invoke(&bad, Default::default(), call(action))
            .await
            .unwrap_err();
        assert!(matches!(err, InvokeError::Trap { .. }), "{action}: {err}");
        assert!(
            err.to_string().starts_with("plugin `misbehave` trapped"),
            "{err}"
        );
        rt.invoke(&bad, Default::default(), call("ok"))
            .await
            .unwrap();
    }
}

/// Opening files outside the granted directory is refused, inside works.
#[tokio::test]
async fn files_outside_the_granted_directory_are_refused() {
    let rt = runtime();
    let bad = load_guest(&rt, "misbehave").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/etc", dir.path().join("escape")).unwrap();
    let err = rt
        .invoke(&bad, dir_grant(dir.path()), call("read-outside"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, InvokeError::Failed { .. }), "{text}");
    assert!(
        text.contains("refused: /etc/passwd:") && !text.contains("BREACH"),
        "{text}"
    );
    for tried in [
        "/data/../etc/passwd:",
        "../etc/passwd:",
        "/data/escape/passwd:",
    ] {
        assert!(text.contains(tried), "{tried} in {text}");
    }

    rt.invoke(&bad, dir_grant(dir.path()), call("write-inside"))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("inside.txt")).unwrap(),
        "inside\n"
    );
}

/// Without a directory grant, even writing "inside" has nowhere to go.
#[tokio::test]
async fn no_directory_grant_means_no_file_system() {
    let rt = runtime();
    let bad = load_guest(&rt, "misbehave").await.unwrap();
    let err = rt
        .invoke(&bad, Default::default(), call("write-inside"))
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Failed { .. }), "{err}");
}

/// A read-only grant lets the plugin read but not write.
#[tokio::test]
async fn read_only_grant_refuses_writes() {
    let rt = runtime();
    let bad = load_guest(&rt, "misbehave").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let grants = Arc::new(Grants {
        directory: Some(tocsin::plugins::DirectoryGrant {
            path: dir.path().to_path_buf(),
            access: tocsin::plugins::Access::ReadOnly,
        }),
        ..Grants::default()
    });
    let err = rt
        .invoke(&bad, grants, call("write-inside"))
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Failed { .. }), "{err}");
    assert!(!dir.path().join("inside.txt").exists());
}

/// 8 MiB printed: the output buffer (64 KiB per stream) refuses the rest, the
/// invocation fails saying so, and the next one is fine. A 4 MiB summary is
/// cut to a few KiB (the audit keeps it) and the invocation succeeds.
#[tokio::test]
async fn oversized_output_is_refused_and_a_long_summary_cut() {
    let rt = runtime();
    let bad = load_guest(&rt, "misbehave").await.unwrap();
    let err = rt
        .invoke(&bad, Default::default(), call("shout"))
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Trap { .. }), "{err}");
    assert!(
        err.to_string().contains("printed more than 64 KiB"),
        "{err}"
    );
    let outcome = rt
        .invoke(&bad, Default::default(), call("long-summary"))
        .await
        .unwrap();
    assert!(
        outcome.summary.len() < tocsin::plugins::runtime::MAX_MESSAGE + 64,
        "{}",
        outcome.summary.len()
    );
    assert!(outcome.summary.ends_with("(cut: 4194304 bytes)"));
    rt.invoke(&bad, Default::default(), call("ok"))
        .await
        .unwrap();
}

/// Endless recursion exhausts the guest's stack: a trap for that invocation
/// only; the host and the next invocation are fine.
#[tokio::test]
async fn endless_recursion_traps_only_its_invocation() {
    let rt = runtime();
    let bad = load_guest(&rt, "misbehave").await.unwrap();
    let err = rt
        .invoke(&bad, Default::default(), call("recurse"))
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Trap { .. }), "{err}");
    rt.invoke(&bad, Default::default(), call("ok"))
        .await
        .unwrap();
}
