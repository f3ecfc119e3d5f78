//! The Log to File plugin, built from source by the xtask, running in the host.

use tocsin::plugins::bindings::Mode;
use tocsin_tests::*;

/// Per item: N invocations write N lines, each naming its item.
#[tokio::test]
async fn per_item_writes_one_line_per_item() {
    let rt = runtime();
    let plugin = load_plugin(&rt, "log-file").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let grants = dir_grant(dir.path());
    for (id, subject) in [("1", "Printer"), ("2", "Refund"), ("3", "VPN")] {
        let inv = invocation(
            "log-to-file",
            Mode::PerItem,
            serde_json::json!({"file": "each.log"}),
            vec![ticket(id, subject)],
        );
        let outcome = rt.invoke(&plugin, grants.clone(), inv).await.unwrap();
        assert_eq!(outcome.summary, "wrote 1 line(s) to each.log");
    }
    let text = std::fs::read_to_string(dir.path().join("each.log")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].ends_with("ticket#1 \"Printer\""), "{}", lines[0]);
    assert!(
        lines[2].contains("rule=\"Test rule\" event=ticket-idle ticket#3 \"VPN\""),
        "{}",
        lines[2]
    );
}

/// Digest: one invocation with six items writes one block: a header and six item lines.
#[tokio::test]
async fn digest_writes_one_block_for_six_items() {
    let rt = runtime();
    let plugin = load_plugin(&rt, "log-file").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let items = (1..=6)
        .map(|n| ticket(&n.to_string(), &format!("subject {n}")))
        .collect();
    let inv = invocation(
        "log-to-file",
        Mode::Digest,
        serde_json::json!({"file": "digest.log", "message": "idle"}),
        items,
    );
    rt.invoke(&plugin, dir_grant(dir.path()), inv)
        .await
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("digest.log")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "{text}");
    assert_eq!(
        lines.iter().filter(|l| l.contains("items=6")).count(),
        1,
        "{text}"
    );
    assert!(lines[0].ends_with("items=6 idle"), "{}", lines[0]);
    assert_eq!(lines[6], "  - ticket#6 \"subject 6\"");
}

/// Without a directory grant the plugin cannot write anywhere: a clear failure.
#[tokio::test]
async fn without_directory_grant_it_fails() {
    let rt = runtime();
    let plugin = load_plugin(&rt, "log-file").await.unwrap();
    let inv = invocation(
        "log-to-file",
        Mode::PerItem,
        serde_json::json!({"file": "x.log"}),
        vec![ticket("1", "s")],
    );
    let err = rt
        .invoke(&plugin, Default::default(), inv)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("plugin `log-file` failed") && text.contains("x.log"),
        "{text}"
    );
}

/// A settings path that climbs out of the directory is bad settings, named by field.
#[tokio::test]
async fn path_escape_in_settings_is_bad_settings() {
    let rt = runtime();
    let plugin = load_plugin(&rt, "log-file").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    for file in ["../escape.log", "/etc/passwd", "a//b"] {
        let inv = invocation(
            "log-to-file",
            Mode::PerItem,
            serde_json::json!({"file": file}),
            vec![ticket("1", "s")],
        );
        let err = rt
            .invoke(&plugin, dir_grant(dir.path()), inv)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("BadSettings") && err.contains("settings.file"),
            "{err}"
        );
    }
    let inv = invocation(
        "log-to-file",
        Mode::PerItem,
        serde_json::json!({"path": "x"}),
        vec![ticket("1", "s")],
    );
    let err = rt
        .invoke(&plugin, dir_grant(dir.path()), inv)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("BadSettings") && err.contains("path"), "{err}");
    assert!(!dir.path().parent().unwrap().join("escape.log").exists());
}

/// describe() is read at load: id, version, the action and both modes.
#[tokio::test]
async fn describe_lists_the_action_and_modes() {
    let rt = runtime();
    let plugin = load_plugin(&rt, "log-file").await.unwrap();
    assert_eq!(plugin.info.id, "log-file");
    let action = &plugin.info.actions[0];
    assert_eq!(action.id, "log-to-file");
    assert_eq!(action.modes, vec![Mode::Digest, Mode::PerItem]);
    let schema: serde_json::Value = serde_json::from_str(&action.settings_schema).unwrap();
    assert_eq!(schema["required"][0], "file");
}

/// Rotation by size: a write that would pass `max_bytes` moves the file to
/// `.1` (older ones shift up to `keep`), and no line is lost or split.
#[tokio::test]
async fn rotates_by_size_keeping_the_configured_number_of_files() {
    let rt = runtime();
    let plugin = load_plugin(&rt, "log-file").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let grants = dir_grant(dir.path());
    let settings = serde_json::json!({"file": "r.log", "max_bytes": 200, "keep": 2});
    let mut rotations = 0;
    for n in 0..12 {
        let inv = invocation(
            "log-to-file",
            Mode::PerItem,
            settings.clone(),
            vec![ticket(&n.to_string(), "rotation")],
        );
        let outcome = rt.invoke(&plugin, grants.clone(), inv).await.unwrap();
        rotations += usize::from(outcome.summary.ends_with("(rotated)"));
    }
    assert!(rotations >= 3, "only {rotations} rotation(s)");
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let (current, newest, oldest) = (read("r.log"), read("r.log.1"), read("r.log.2"));
    assert!(
        !dir.path().join("r.log.3").exists(),
        "keep = 2 was not honoured"
    );
    for text in [&current, &newest, &oldest] {
        assert!(text.len() <= 200, "{} bytes:\n{text}", text.len());
        assert!(text.ends_with('\n'), "a line was split:\n{text}");
    }
    // The newest item is in the current file, the one before it rotated out.
    assert!(current.contains("ticket#11 "), "{current}");
    assert!(!newest.contains("ticket#11 ") && !oldest.contains("ticket#11 "));
    // What is kept is the newest lines, each once, oldest file first.
    let ids: Vec<usize> = [&oldest, &newest, &current]
        .iter()
        .flat_map(|t| t.lines())
        .map(|l| {
            let at = l.find("ticket#").expect("item in line") + "ticket#".len();
            l[at..].split(' ').next().unwrap().parse().unwrap()
        })
        .collect();
    let first = 12 - ids.len();
    assert_eq!(
        ids,
        (first..12).collect::<Vec<_>>(),
        "kept lines out of order or lost"
    );
}

#[tokio::test]
async fn a_keep_of_zero_is_refused_naming_the_setting() {
    let rt = runtime();
    let plugin = load_plugin(&rt, "log-file").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inv = invocation(
        "log-to-file",
        Mode::PerItem,
        serde_json::json!({"file": "r.log", "max_bytes": 10, "keep": 0}),
        vec![ticket("1", "x")],
    );
    let err = rt
        .invoke(&plugin, dir_grant(dir.path()), inv)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("settings.keep"), "{err}");
}
