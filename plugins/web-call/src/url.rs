//! Just enough URL handling for the request line and redirects: scheme,
//! authority, path with query. No percent-decoding: the URL is sent as given.

/// An `http` or `https` URL split into what `wasi:http` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `true` for `https`.
    pub https: bool,
    /// `host` or `host:port`.
    pub authority: String,
    /// Starts with `/`; includes the query, never the fragment.
    pub path_with_query: String,
}

impl Url {
    /// Parses an absolute `http://` or `https://` URL.
    pub fn parse(text: &str) -> Result<Url, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("{text:?} is not an absolute http(s) URL"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            other => return Err(format!("scheme {other:?} is not http or https")),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.is_empty()
            || authority.contains('@')
            || authority.contains(char::is_whitespace)
        {
            return Err(format!("{text:?} has no valid host"));
        }
        let path_with_query = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        Ok(Url {
            https,
            authority: authority.to_string(),
            path_with_query,
        })
    }

    /// Resolves a `Location` header against this URL: absolute, `//host/...`,
    /// `/path` or a path relative to the current one.
    pub fn join(&self, location: &str) -> Result<Url, String> {
        let scheme = if self.https { "https" } else { "http" };
        if location.contains("://") {
            Url::parse(location)
        } else if let Some(rest) = location.strip_prefix("//") {
            Url::parse(&format!("{scheme}://{rest}"))
        } else if location.starts_with('/') {
            Url::parse(&format!("{scheme}://{}{location}", self.authority))
        } else {
            let path = self.path_with_query.split('?').next().unwrap_or("/");
            let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            Url::parse(&format!("{scheme}://{}{dir}{location}", self.authority))
        }
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority, self.path_with_query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_joins() {
        let u = Url::parse("https://api.example.com:8443/a/b?x=1#frag").unwrap();
        assert!(u.https);
        assert_eq!(u.authority, "api.example.com:8443");
        assert_eq!(u.path_with_query, "/a/b?x=1");
        assert_eq!(Url::parse("http://h").unwrap().path_with_query, "/");
        assert_eq!(Url::parse("http://h?q").unwrap().path_with_query, "/?q");
        assert!(Url::parse("ftp://h/").is_err());
        assert!(Url::parse("/relative").is_err());
        assert!(Url::parse("http:///x").is_err());
        assert_eq!(
            u.join("/c").unwrap().to_string(),
            "https://api.example.com:8443/c"
        );
        assert_eq!(
            u.join("c?y").unwrap().to_string(),
            "https://api.example.com:8443/a/c?y"
        );
        assert_eq!(
            u.join("//o.example/").unwrap().to_string(),
            "https://o.example/"
        );
        assert_eq!(u.join("http://p/q").unwrap().to_string(), "http://p/q");
    }
}
