//! Bearer tokens and roles. A token is shown once when created; the store
//! keeps only its SHA-256 (tree `tokens`, `hash/<hex>` → the token's record).

use crate::store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything: system rules, every agent's rules, plugins, grants,
    /// events, commands, dead letters.
    Admin,
    /// Its own rules ("My Events"), the catalog, items, explain.
    Agent,
}

impl Role {
    /// As written in tokens and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }
}

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Token id (not the secret).
    pub token: String,
    /// Role.
    pub role: Role,
    /// The agent id, for agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// When it was created (ms since the epoch).
    pub created_ms: i64,
}

impl Principal {
    /// Whether it is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The agent id of an agent token.
    pub fn agent(&self) -> Option<&str> {
        self.agent.as_deref()
    }
}

/// A token that cannot be created.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// An agent token needs the agent's id; an admin token has none.
    #[error("agent: an agent token needs the agent's id (--agent), an admin token takes none")]
    Agent,
    /// The agent id has characters that are not allowed.
    #[error("agent: {0:?} is not an agent id; use letters, digits, `.`, `_`, `@` and `-`")]
    AgentId(String),
}

/// The token store.
#[derive(Clone)]
pub struct Tokens {
    tree: sled::Tree,
}

impl Tokens {
    /// Opens the `tokens` tree of a store.
    pub fn open(store: &Store) -> anyhow::Result<Tokens> {
        Ok(Tokens {
            tree: store.tree("tokens")?,
        })
    }

    /// Creates a token; returns its record and the secret, which is not kept.
    pub fn create(&self, role: Role, agent: Option<&str>) -> anyhow::Result<(Principal, String)> {
        match (role, agent) {
            (Role::Agent, Some(a)) if !valid_agent(a) => {
                return Err(TokenError::AgentId(a.to_string()).into())
            }
            (Role::Agent, Some(_)) | (Role::Admin, None) => {}
            _ => return Err(TokenError::Agent.into()),
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
        let secret = format!("tsn_{}", hex(&bytes));
        let principal = Principal {
            token: format!("tok-{}", &hex(&Sha256::digest(secret.as_bytes()))[..12]),
            role,
            agent: agent.map(str::to_string),
            created_ms: jiff::Timestamp::now().as_millisecond(),
        };
        self.tree
            .insert(key(&secret), serde_json::to_vec(&principal)?)?;
        self.tree.flush()?;
        Ok((principal, secret))
    }

    /// The principal of a secret, if it is a known token.
    pub fn verify(&self, secret: &str) -> anyhow::Result<Option<Principal>> {
        Ok(match self.tree.get(key(secret))? {
            Some(v) => Some(serde_json::from_slice(&v)?),
            None => None,
        })
    }

    /// Every token's record (never the secrets).
    pub fn list(&self) -> anyhow::Result<Vec<Principal>> {
        self.tree
            .iter()
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    /// Revokes a token by id; false when there is none.
    pub fn revoke(&self, id: &str) -> anyhow::Result<bool> {
        for kv in self.tree.iter() {
            let (k, v) = kv?;
            let p: Principal = serde_json::from_slice(&v)?;
            if p.token == id {
                self.tree.remove(k)?;
                self.tree.flush()?;
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn key(secret: &str) -> Vec<u8> {
    format!("hash/{}", hex(&Sha256::digest(secret.as_bytes()))).into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn valid_agent(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_kept_hashed_and_verified() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = Tokens::open(&Store::open(dir.path()).unwrap()).unwrap();
        let (admin, secret) = tokens.create(Role::Admin, None).unwrap();
        assert!(secret.starts_with("tsn_") && secret.len() == 68);
        assert_eq!(tokens.verify(&secret).unwrap(), Some(admin.clone()));
        assert_eq!(tokens.verify("tsn_nope").unwrap(), None);
        let stored: Vec<u8> = tokens
            .tree
            .iter()
            .values()
            .next()
            .unwrap()
            .unwrap()
            .to_vec();
        assert!(!String::from_utf8_lossy(&stored).contains(&secret[4..]));
        let (ana, ana_secret) = tokens.create(Role::Agent, Some("ana")).unwrap();
        assert_eq!(ana.agent(), Some("ana"));
        assert!(tokens.create(Role::Agent, None).is_err());
        assert!(tokens.create(Role::Admin, Some("ana")).is_err());
        assert!(tokens.create(Role::Agent, Some("a b")).is_err());
        assert!(tokens.revoke(&ana.token).unwrap());
        assert_eq!(tokens.verify(&ana_secret).unwrap(), None);
        assert_eq!(tokens.list().unwrap(), vec![admin]);
    }
}
