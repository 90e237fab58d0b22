//! The one error type a job ends with.
//!
//! Clarify reports a failed job with a single sentence that starts with an
//! error category: `ClientError:` when the user can fix it (config, data,
//! model answers), `AlgorithmError:` when openclarify itself went wrong. The
//! category decides nothing but the prefix; the sentence must say what to do.

use std::fmt;

/// Who can fix a failure: the user (config, data, model) or us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Bad config, bad data, or a model that answers wrongly.
    Client,
    /// A bug or an environment problem inside openclarify.
    Algorithm,
}

/// A failure that ends the job, with the sentence shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    /// Who can fix it.
    pub category: Category,
    /// One or two sentences: what is wrong, where, and what to do.
    pub message: String,
}

impl JobError {
    /// A failure the user can fix (config, data, model).
    pub fn client(message: impl Into<String>) -> Self {
        JobError {
            category: Category::Client,
            message: message.into(),
        }
    }

    /// A failure inside openclarify or its environment.
    pub fn algorithm(message: impl Into<String>) -> Self {
        JobError {
            category: Category::Algorithm,
            message: message.into(),
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.category {
            Category::Client => "ClientError",
            Category::Algorithm => "AlgorithmError",
        };
        write!(f, "{prefix}: {}", self.message)
    }
}

impl std::error::Error for JobError {}

/// Shorthand for results whose error ends the job.
pub type Result<T> = std::result::Result<T, JobError>;

/// Returns early with a client error built from a format string.
#[macro_export]
macro_rules! client_bail {
    ($($arg:tt)*) => {
        return Err($crate::error::JobError::client(format!($($arg)*)))
    };
}
