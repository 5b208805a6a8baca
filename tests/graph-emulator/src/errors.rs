//! Graph's response shapes: the error envelope and the response type every
//! handler returns (so `$batch` can reuse handlers and wrap their output).

use serde_json::{Value, json};

/// The content type Graph puts on JSON entities (msgraph-behaviour A6).
pub const GRAPH_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

#[derive(Debug, Clone)]
pub enum Body {
    Empty,
    Json(Value),
    Text(String),
    /// A syntactically valid JSON document of exactly this many bytes, streamed
    /// (the `oversized_body` fault rule).
    Oversized(u64),
    /// No answer at all: the connection is closed (the `act_then_drop` fault rule).
    Abort,
}

/// A Graph response before it is turned into HTTP (or into a `$batch` item).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Resp {
    pub fn json(status: u16, v: Value) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: Body::Json(v),
        }
    }
    pub fn ok(v: Value) -> Resp {
        Resp::json(200, v)
    }
    pub fn created(v: Value) -> Resp {
        Resp::json(201, v)
    }
    pub fn no_content() -> Resp {
        Resp {
            status: 204,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }
    pub fn with_header(mut self, k: &str, v: impl Into<String>) -> Resp {
        self.headers.push((k.to_string(), v.into()));
        self
    }
}

/// A Graph error; rendered into `{"error":{code,message,innerError,details?}}`
/// once the request id and date are known.
#[derive(Debug, Clone)]
pub struct GraphError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub details: Vec<Value>,
    pub headers: Vec<(String, String)>,
}

pub type GResult<T = Resp> = Result<T, GraphError>;

impl GraphError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> GraphError {
        GraphError {
            status,
            code: code.into(),
            message: message.into(),
            details: Vec::new(),
            headers: Vec::new(),
        }
    }
    pub fn with_detail(mut self, code: &str, message: &str, target: &str) -> GraphError {
        self.details
            .push(json!({"code": code, "message": message, "target": target}));
        self
    }
    pub fn with_header(mut self, k: &str, v: impl Into<String>) -> GraphError {
        self.headers.push((k.to_string(), v.into()));
        self
    }

    /// `404 Request_ResourceNotFound` with Graph's usual wording.
    pub fn not_found(id: &str) -> GraphError {
        GraphError::new(
            404,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }
    pub fn bad_request(message: impl Into<String>) -> GraphError {
        GraphError::new(400, "Request_BadRequest", message)
    }
    pub fn invalid_id(id: &str) -> GraphError {
        GraphError::bad_request(format!("Invalid object identifier '{id}'."))
    }
    pub fn invalid_value(prop: &str, resource: &str) -> GraphError {
        GraphError::bad_request(format!(
            "Invalid value specified for property '{prop}' of resource '{resource}'."
        ))
    }
    pub fn denied() -> GraphError {
        GraphError::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }
    pub fn segment(seg: &str) -> GraphError {
        GraphError::new(
            400,
            "BadRequest",
            format!("Resource not found for the segment '{seg}'."),
        )
    }
    pub fn method_not_allowed() -> GraphError {
        GraphError::new(
            405,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        )
    }
    pub fn unreadable_json() -> GraphError {
        GraphError::new(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    }
    pub fn unauthenticated(message: &str) -> GraphError {
        GraphError::new(401, "InvalidAuthenticationToken", message).with_header(
            "www-authenticate",
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        )
    }

    /// The Graph envelope; `innerError` carries the ids that the headers carry too.
    pub fn envelope(&self, request_id: &str, client_request_id: &str, date: &str) -> Value {
        let mut err = json!({
            "code": self.code,
            "message": self.message,
            "innerError": {"date": date, "request-id": request_id, "client-request-id": client_request_id},
        });
        if !self.details.is_empty() {
            err["details"] = Value::Array(self.details.clone());
        }
        json!({ "error": err })
    }

    pub fn into_resp(self, request_id: &str, client_request_id: &str, date: &str) -> Resp {
        let body = self.envelope(request_id, client_request_id, date);
        Resp {
            status: self.status,
            headers: self.headers,
            body: Body::Json(body),
        }
    }
}
