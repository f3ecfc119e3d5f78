//! An external provider written with the SDK, as a third party would: it
//! looks at the items of the request and answers output variables.
//!
//! - `cf.billing_id` = `<settings.prefix or "B">-<customer email's domain>` of
//!   the first item;
//! - `department` = `settings.escalate_to` when any item's priority is `urgent`
//!   and the setting is given;
//! - a permanent failure when the first item has no customer email.

use tocsin_sdk::prelude::*;

struct Billing;

#[derive(serde::Deserialize)]
struct Settings {
    #[serde(default = "default_prefix")]
    prefix: String,
    #[serde(default)]
    escalate_to: Option<String>,
}

fn default_prefix() -> String {
    "B".to_string()
}

impl Provider for Billing {
    fn describe() -> ProviderInfo {
        ProviderInfo::new(
            "billing-provider",
            env!("CARGO_PKG_VERSION"),
            "answers billing ids and reroutes urgent items",
        )
    }

    fn notify(request: ProviderRequest) -> Result<Vec<Variable>, Failure> {
        let settings: Settings = request.settings()?;
        let Some(first) = request.items.first() else {
            return Ok(Vec::new());
        };
        let fields: serde_json::Value = serde_json::from_str(&first.fields)
            .map_err(|e| Failure::permanent(format!("item fields are not JSON: {e}")))?;
        let email = fields
            .get("customer-email")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                Failure::permanent(format!(
                    "{} {} has no customer-email to bill",
                    first.kind, first.id
                ))
            })?;
        let domain = email.rsplit('@').next().unwrap_or(email);
        let mut answer = vec![Variable {
            key: "cf.billing_id".into(),
            value: format!("{}-{domain}", settings.prefix),
        }];
        let urgent = request.items.iter().any(|item| {
            serde_json::from_str::<serde_json::Value>(&item.fields)
                .ok()
                .and_then(|f| {
                    f.get("priority")
                        .and_then(|p| p.as_str())
                        .map(|p| p == "urgent")
                })
                .unwrap_or(false)
        });
        if let (true, Some(department)) = (urgent, settings.escalate_to) {
            answer.push(Variable {
                key: "department".into(),
                value: department,
            });
        }
        Ok(answer)
    }
}

export_provider!(Billing);
