//! Mail and help-desk commands are capabilities: requested in the manifest,
//! granted by an admin, refused with an error naming the grant otherwise.

use std::sync::Arc;
use tocsin::plugins::bindings::Mode;
use tocsin::plugins::{Grants, InvokeError, LoadError, Runtime, RuntimeConfig};
use tocsin_tests::*;

fn call(action: &str) -> tocsin::plugins::bindings::Invocation {
    invocation(
        action,
        Mode::Digest,
        serde_json::json!({}),
        vec![ticket("7", "s")],
    )
}

/// Without the `mail` grant the call is refused and nothing is queued; with it, the mail is queued.
#[tokio::test]
async fn mail_needs_the_mail_grant() {
    let recorder = Arc::new(Recorder::default());
    let rt = Runtime::new(
        RuntimeConfig {
            max_instances: 8,
            ..Default::default()
        },
        recorder.clone(),
    )
    .unwrap();
    let plugin = load_guest(&rt, "misbehave").await.unwrap();
    let err = rt
        .invoke(&plugin, Default::default(), call("send-mail"))
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Failed { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("plugin `misbehave` has no `mail` grant"),
        "{err}"
    );
    assert!(recorder.mail.lock().unwrap().is_empty());

    let grants = Arc::new(Grants {
        mail: true,
        ..Grants::default()
    });
    let outcome = rt.invoke(&plugin, grants, call("send-mail")).await.unwrap();
    assert_eq!(outcome.summary, "queued mail-1");
    assert_eq!(*recorder.mail.lock().unwrap(), ["from Test rule"]);
}

/// A help-desk command is refused unless that command is granted.
#[tokio::test]
async fn commands_need_a_grant_naming_them() {
    let recorder = Arc::new(Recorder::default());
    let rt = Runtime::new(
        RuntimeConfig {
            max_instances: 8,
            ..Default::default()
        },
        recorder.clone(),
    )
    .unwrap();
    let plugin = load_guest(&rt, "misbehave").await.unwrap();
    let other = Arc::new(Grants {
        helpdesk: vec!["transfer".into()],
        ..Grants::default()
    });
    let err = rt
        .invoke(&plugin, other, call("set-status"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("help-desk command `set-status` refused"),
        "{err}"
    );
    assert!(recorder.commands.lock().unwrap().is_empty());

    let granted = Arc::new(Grants {
        helpdesk: vec!["set-status".into()],
        ..Grants::default()
    });
    rt.invoke(&plugin, granted, call("set-status"))
        .await
        .unwrap();
    assert_eq!(*recorder.commands.lock().unwrap(), ["set-status"]);
}

/// A component importing mail while its manifest does not request it is not loaded.
#[tokio::test]
async fn import_not_requested_by_the_manifest_is_refused_at_load() {
    let rt = runtime();
    let (mut manifest, wasm) = component(&guests_dir(), "misbehave");
    manifest.capabilities.mail = false;
    let err = rt.load(manifest, &wasm).await.err().unwrap();
    assert!(
        matches!(
            err,
            LoadError::UndeclaredImport {
                capability: "mail",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("imports `tocsin:plugin/mail@0.1.0`"),
        "{err}"
    );
}

/// The providers plugin imports `providers`; without the manifest's
/// `providers` capability it is not loaded.
#[tokio::test]
async fn providers_import_needs_its_capability() {
    let rt = runtime();
    let (mut manifest, wasm) = component(&plugins_dir(), "providers");
    manifest.capabilities.providers = false;
    let err = rt.load(manifest, &wasm).await.err().unwrap();
    assert!(
        matches!(
            err,
            LoadError::UndeclaredImport {
                capability: "providers",
                ..
            }
        ),
        "{err}"
    );
}
