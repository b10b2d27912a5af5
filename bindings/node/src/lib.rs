//! Node bindings: see the node issue.
