//! trybuild cases for the macros arrive with the macro issue.
