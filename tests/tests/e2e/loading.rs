//! Components are checked at load: bytes that are not a component, core
//! modules, the wrong world, imports the manifest does not request, and a
//! describe() that disagrees with the manifest are refused with errors naming
//! the plugin and the problem.

use tocsin::plugins::{LoadError, Manifest, World};
use tocsin_tests::*;

fn manifest(id: &str, world: World) -> Manifest {
    Manifest {
        id: id.into(),
        version: "0.1.0".into(),
        world,
        wit: "tocsin:plugin@0.1.0".into(),
        description: String::new(),
        capabilities: Default::default(),
    }
}

/// Random bytes are not a component.
#[tokio::test]
async fn garbage_bytes_are_refused() {
    let rt = runtime();
    let err = rt
        .load(
            manifest("junk", World::ActionPlugin),
            b"definitely not wasm",
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(err, LoadError::NotAComponent { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("plugin `junk`: not a valid WebAssembly component"),
        "{text}"
    );
}

/// A core module is named as such, with what to do about it.
#[tokio::test]
async fn core_module_is_refused() {
    let rt = runtime();
    let core = b"\0asm\x01\0\0\0";
    let err = rt
        .load(manifest("core", World::ActionPlugin), core)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, LoadError::CoreModule { .. }), "{err}");
    assert!(err
        .to_string()
        .contains("plugin `core`: the file is a core WebAssembly module, not a component"));
}

/// An external provider loaded as an action plugin is the wrong world, and the error says which it is.
#[tokio::test]
async fn wrong_world_is_refused() {
    let rt = runtime();
    let (_, wasm) = component(&guests_dir(), "echo-provider");
    let err = rt
        .load(manifest("echo-provider", World::ActionPlugin), &wasm)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, LoadError::WrongWorld { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("plugin `echo-provider`") && text.contains("`action-plugin` world"),
        "{text}"
    );
    assert!(text.contains("it is an external-provider"), "{text}");

    let (_, wasm) = component(&plugins_dir(), "log-file");
    let err = rt
        .load(manifest("log-file", World::ExternalProvider), &wasm)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("it is an action-plugin"), "{err}");
}

/// The provider loads in its own world and answers output variables.
#[tokio::test]
async fn external_provider_answers_variables() {
    let rt = runtime();
    let provider = load_guest(&rt, "echo-provider").await.unwrap();
    let request = tocsin::plugins::bindings::ProviderRequest {
        id: "req-1".into(),
        rule: tocsin::plugins::bindings::RuleRef {
            id: "r".into(),
            name: "r".into(),
            owner: "system".into(),
        },
        settings: "{}".into(),
        event: invocation(
            "x",
            tocsin::plugins::bindings::Mode::Digest,
            serde_json::json!({}),
            vec![],
        )
        .event,
        items: vec![ticket("41", "a"), ticket("42", "b")],
    };
    let vars = rt
        .notify(&provider, Default::default(), request)
        .await
        .unwrap();
    let pairs: Vec<(String, String)> = vars.into_iter().map(|v| (v.key, v.value)).collect();
    assert_eq!(
        pairs,
        [
            ("cf.echo".to_string(), "41".to_string()),
            ("cf.echo".to_string(), "42".to_string())
        ]
    );
}

/// describe() must agree with the manifest's id and version.
#[tokio::test]
async fn describe_disagreeing_with_manifest_is_refused() {
    let rt = runtime();
    let (mut m, wasm) = component(&plugins_dir(), "log-file");
    m.id = "log-file-2".into();
    let err = rt.load(m, &wasm).await.err().unwrap();
    assert!(
        err.to_string()
            .contains("describe() says id `log-file` but the manifest says `log-file-2`"),
        "{err}"
    );
    let (mut m, wasm) = component(&plugins_dir(), "log-file");
    m.version = "9.9.9".into();
    let err = rt.load(m, &wasm).await.err().unwrap();
    assert!(err.to_string().contains("version"), "{err}");
}
