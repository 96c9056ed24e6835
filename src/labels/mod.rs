//! Security labels: the HL7 vocabularies as data, the release rule resource servers apply,
//! and the grant intersection (patient choice ∩ client ceiling ∩ user clearance).
//!
//! See PRODUCT.md "The label model" and the README's "Security labels" section.

pub mod categories;
pub mod grant;
pub mod release;
pub mod vocab;

pub use categories::{Category, default_categories};
pub use grant::{Ceiling, SecurityClaim, Sensitivity};
pub use release::{Label, may_release};
pub use vocab::Confidentiality;
