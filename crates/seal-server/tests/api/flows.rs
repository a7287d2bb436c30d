//! End-to-end flows over HTTP.
