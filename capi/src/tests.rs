//! Unit tests of the guard, the pointer checks and the status mapping.
