//! Graph's errors as the provider reports them: always with Graph's code and request
//! id, so a support case can be opened from the diagnostic alone. Clients branch on
//! `code`, never on `message`.

use super::auth::AuthError;
use std::fmt;
use tfplugin::diagnostics::Diagnostic;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphErrorKind {
    /// Graph answered with an error status.
    Api,
    /// No answer: connection refused, reset, TLS failure, read timeout.
    Transport,
    /// Signing in failed.
    Auth,
    /// Terraform asked to stop.
    Cancelled,
    /// The operation's timeout ran out while retrying.
    Deadline,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphError {
    pub kind: GraphErrorKind,
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub date: Option<String>,
    /// `error.details[].code`, where Graph puts the precise reason
    /// (e.g. `NoBackingApplicationObject`).
    pub detail_codes: Vec<String>,
    /// The method and path that failed, e.g. `POST /applications`.
    pub request: String,
    /// Attempts made before giving up.
    pub attempts: u32,
    /// An earlier attempt of this write lost its answer, so Graph may have acted even
    /// though this error is the final answer (see `consistency::may_have_acted`).
    pub acted_unknown: bool,
}

impl GraphError {
    pub fn transport(request: String, message: String) -> Self {
        Self {
            kind: GraphErrorKind::Transport,
            status: None,
            code: String::new(),
            message,
            request_id: None,
            date: None,
            detail_codes: Vec::new(),
            request,
            attempts: 1,
            acted_unknown: false,
        }
    }

    pub fn auth(request: String, error: AuthError) -> Self {
        Self {
            kind: GraphErrorKind::Auth,
            code: error.summary,
            message: error.detail,
            ..Self::transport(request, String::new())
        }
    }

    pub fn cancelled(request: String) -> Self {
        Self {
            kind: GraphErrorKind::Cancelled,
            ..Self::transport(request, "Terraform asked the provider to stop.".to_owned())
        }
    }

    /// Parses Graph's error envelope; tolerates bodies that are not Graph's.
    pub fn from_response(
        request: String,
        status: u16,
        request_id: Option<String>,
        body: &[u8],
    ) -> Self {
        let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let error = &parsed["error"];
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let inner = &error["innerError"];
        Self {
            kind: GraphErrorKind::Api,
            status: Some(status),
            code: text(&error["code"]),
            message: if error["message"].is_string() {
                text(&error["message"])
            } else {
                String::from_utf8_lossy(body).chars().take(300).collect()
            },
            request_id: inner["request-id"]
                .as_str()
                .map(str::to_owned)
                .or(request_id),
            date: inner["date"].as_str().map(str::to_owned),
            detail_codes: error["details"]
                .as_array()
                .map(|d| {
                    d.iter()
                        .filter_map(|x| x["code"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            request,
            attempts: 1,
            acted_unknown: false,
        }
    }

    pub fn is_status(&self, status: u16) -> bool {
        self.status == Some(status)
    }

    /// Graph answered 404. A wait that ran out or was stopped while Graph kept
    /// answering 404 is not an answer that the object is gone.
    pub fn is_not_found(&self) -> bool {
        self.kind == GraphErrorKind::Api && self.is_status(404)
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.code == code || self.detail_codes.iter().any(|c| c == code)
    }

    /// Graph's identifying facts, for the end of a diagnostic.
    pub fn reference(&self) -> String {
        let mut parts = vec![self.request.clone()];
        if let Some(s) = self.status {
            parts.push(format!("HTTP {s}"));
        }
        if !self.code.is_empty() && self.kind == GraphErrorKind::Api {
            parts.push(format!("code {}", self.code));
        }
        if let Some(id) = &self.request_id {
            parts.push(format!("request-id {id}"));
        }
        if let Some(d) = &self.date {
            parts.push(format!("date {d}"));
        }
        if self.attempts > 1 {
            parts.push(format!("after {} attempts", self.attempts));
        }
        parts.join(", ")
    }

    /// A diagnostic: `summary` says what the provider was doing, `advice` what to do.
    pub fn to_diagnostic(&self, summary: &str, advice: Option<&str>) -> Diagnostic {
        let mut detail = match self.kind {
            GraphErrorKind::Api => format!("Microsoft Graph answered: {}", self.message),
            GraphErrorKind::Transport => {
                format!("Microsoft Graph could not be reached: {}", self.message)
            }
            GraphErrorKind::Auth => format!("{}: {}", self.code, self.message),
            GraphErrorKind::Cancelled => self.message.clone(),
            GraphErrorKind::Deadline => format!(
                "The operation's timeout ran out while waiting for Microsoft Graph. Last answer: {}",
                self.message
            ),
        };
        if let Some(advice) = advice {
            detail.push_str("\n\n");
            detail.push_str(advice);
        }
        detail.push_str(&format!("\n\n({})", self.reference()));
        Diagnostic::error(summary, detail)
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.reference())
    }
}

impl std::error::Error for GraphError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_graphs_envelope() {
        let body = br#"{"error":{"code":"Request_BadRequest","message":"The appId 'x' of the service principal does not reference a valid application object.","details":[{"code":"NoBackingApplicationObject","target":"appId"}],"innerError":{"date":"2025-02-13T10:17:06","request-id":"r-1","client-request-id":"c-1"}}}"#;
        let e = GraphError::from_response("POST /servicePrincipals".into(), 400, None, body);
        assert_eq!(e.code, "Request_BadRequest");
        assert!(e.has_code("NoBackingApplicationObject"));
        assert_eq!(e.request_id.as_deref(), Some("r-1"));
        let d = e.to_diagnostic("Could not create", Some("Try again."));
        assert!(d.detail.contains("code Request_BadRequest"));
        assert!(d.detail.contains("request-id r-1"));
        assert!(d.detail.contains("date 2025-02-13T10:17:06"));
        assert!(d.detail.contains("Try again."));
    }

    #[test]
    fn tolerates_bodies_that_are_not_graphs() {
        let e = GraphError::from_response(
            "GET /x".into(),
            502,
            Some("h-1".into()),
            b"<html>bad gateway</html>",
        );
        assert_eq!(e.code, "");
        assert!(e.message.contains("bad gateway"));
        assert_eq!(e.request_id.as_deref(), Some("h-1"));
    }

    #[test]
    fn a_wait_that_ran_out_on_404s_is_not_not_found() {
        let answer =
            GraphError::from_response("DELETE /directory/deletedItems/x".into(), 404, None, b"{}");
        assert!(answer.is_not_found());
        let ran_out = GraphError {
            kind: GraphErrorKind::Deadline,
            ..answer.clone()
        };
        assert!(!ran_out.is_not_found());
        let stopped = GraphError {
            kind: GraphErrorKind::Cancelled,
            ..answer
        };
        assert!(!stopped.is_not_found());
    }
}
