//! Hot reload: a plugin replaced ten times under a stream of invocations
//! fails none of them and each is served by exactly one version; a watched
//! folder reloads a changed component and keeps the old version serving when
//! the new one is broken; compiled code is reused from the cache.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tocsin::plugins::bindings::Mode;
use tocsin::plugins::{Grants, Registry, Runtime, RuntimeConfig};
use tocsin_tests::*;

fn whoami() -> tocsin::plugins::bindings::Invocation {
    invocation(
        "whoami",
        Mode::Digest,
        serde_json::json!({}),
        vec![ticket("1", "s")],
    )
}

/// Which version served an invocation of the installed `reloadable`.
async fn served(registry: &Registry) -> Result<String, String> {
    let installed = registry.get("reloadable").ok_or("not installed")?;
    registry
        .runtime()
        .invoke(&installed.plugin, installed.grants.clone(), whoami())
        .await
        .map(|o| o.summary)
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_replacements_under_load_fail_no_invocation() {
    let registry = Arc::new(Registry::new(runtime()));
    let one = guests_dir().join("reload-one.wasm");
    let two = guests_dir().join("reload-two.wasm");
    registry
        .install_file(&one, Grants::default())
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let counts = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let mut callers = Vec::new();
    for _ in 0..4 {
        let (registry, stop, failures, counts) = (
            registry.clone(),
            stop.clone(),
            failures.clone(),
            counts.clone(),
        );
        callers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                // An invocation finishes without waiting on anything; yield so
                // the runtime's timers (and the replacing task) get their turn.
                tokio::task::yield_now().await;
                match served(&registry).await.as_deref() {
                    Ok("served by 1.0.0") => counts[0].fetch_add(1, Ordering::Relaxed),
                    Ok("served by 2.0.0") => counts[1].fetch_add(1, Ordering::Relaxed),
                    other => {
                        failures.lock().unwrap().push(format!("{other:?}"));
                        0
                    }
                };
            }
        }));
    }
    for round in 0..10 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let next = if round % 2 == 0 { &two } else { &one };
        let installed = registry
            .install_file(next, Grants::default())
            .await
            .unwrap();
        let want = if round % 2 == 0 { "2.0.0" } else { "1.0.0" };
        assert_eq!(installed.plugin.info.version, want);
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    stop.store(true, Ordering::Relaxed);
    for c in callers {
        c.await.unwrap();
    }
    assert!(
        failures.lock().unwrap().is_empty(),
        "{:?}",
        failures.lock().unwrap()
    );
    let (v1, v2) = (
        counts[0].load(Ordering::Relaxed),
        counts[1].load(Ordering::Relaxed),
    );
    assert!(v1 > 0 && v2 > 0, "both versions served: {v1} / {v2}");
    // The last install was version 1.
    assert_eq!(served(&registry).await.unwrap(), "served by 1.0.0");
}

/// Copies a test guest into `dir` as `reloadable.{wasm,toml}`, each file
/// written aside and renamed into place.
fn place(dir: &std::path::Path, guest: &str) {
    for ext in ["wasm", "toml"] {
        let tmp = dir.join(format!("incoming.{ext}.part"));
        std::fs::copy(guests_dir().join(format!("{guest}.{ext}")), &tmp).unwrap();
        std::fs::rename(&tmp, dir.join(format!("reloadable.{ext}"))).unwrap();
    }
}

type Outcomes = tokio::sync::mpsc::UnboundedReceiver<(String, Result<String, String>)>;

/// The next reload outcome, within 20 s.
async fn wait(rx: &mut Outcomes) -> (String, Result<String, String>) {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a reload within 20 s")
        .unwrap()
}

#[tokio::test]
async fn a_watched_folder_reloads_changes_and_a_broken_version_keeps_the_old_serving() {
    let dir = tempfile::tempdir().unwrap();
    place(dir.path(), "reload-one");
    let registry = Arc::new(Registry::new(runtime()));
    registry
        .install_file(&dir.path().join("reloadable.wasm"), Grants::default())
        .await
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _watch = tocsin::plugins::watch::watch(
        registry.clone(),
        vec![dir.path().to_path_buf()],
        Arc::new(|_: &str| Grants::default()),
        Arc::new(move |id: &str, outcome: &Result<String, String>| {
            let _ = tx.send((id.to_string(), outcome.clone()));
        }),
    )
    .unwrap();

    place(dir.path(), "reload-two");
    // The component and its manifest may land in two reloads; the first can
    // see them disagree (refused), the last loads version 2.
    loop {
        let (id, outcome) = wait(&mut rx).await;
        assert_eq!(id, "reloadable");
        if outcome == Ok("2.0.0".to_string()) {
            break;
        }
    }
    assert_eq!(served(&registry).await.unwrap(), "served by 2.0.0");
    assert_eq!(registry.last_error("reloadable"), None);

    let tmp = dir.path().join("broken.part");
    std::fs::write(&tmp, b"\0asm not really").unwrap();
    std::fs::rename(&tmp, dir.path().join("reloadable.wasm")).unwrap();
    let (_, outcome) = wait(&mut rx).await;
    let why = outcome.unwrap_err();
    assert!(why.contains("reloadable"), "{why}");
    assert_eq!(
        registry.last_error("reloadable").as_deref(),
        Some(why.as_str())
    );
    assert_eq!(served(&registry).await.unwrap(), "served by 2.0.0");
}

#[tokio::test]
async fn compiled_code_is_kept_and_reused_and_a_damaged_cache_is_replaced() {
    let cache = tempfile::tempdir().unwrap();
    let make = || {
        Arc::new(
            Runtime::new(
                RuntimeConfig {
                    max_instances: 8,
                    cache_dir: Some(cache.path().to_path_buf()),
                },
                Arc::new(Recorder::default()),
            )
            .unwrap(),
        )
    };
    let first = make();
    load_guest(&first, "reload-one").await.unwrap();
    let files: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().ends_with(".cwasm"));
    let written = std::fs::metadata(&files[0]).unwrap().modified().unwrap();

    // A second runtime (a restart) loads it from the cache, unchanged.
    let second = make();
    let plugin = load_guest(&second, "reload-one").await.unwrap();
    let outcome = second
        .invoke(&plugin, Arc::new(Grants::default()), whoami())
        .await
        .unwrap();
    assert_eq!(outcome.summary, "served by 1.0.0");
    assert_eq!(
        std::fs::metadata(&files[0]).unwrap().modified().unwrap(),
        written
    );

    // Damaged: compiled again and written again.
    std::fs::write(&files[0], b"garbage").unwrap();
    let third = make();
    load_guest(&third, "reload-one").await.unwrap();
    assert!(std::fs::metadata(&files[0]).unwrap().len() > 1000);
}
