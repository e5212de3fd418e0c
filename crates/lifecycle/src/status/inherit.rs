//! The state an image inherits from its base (DESIGN §8.2): the image's own verdict comes
//! first; only an image that would be `supported` or `unknown` becomes `base-end-of-life`,
//! and an image with no lifecycle data of its own built on a base that has some (`supported`,
//! `scheduled`) is `supported` through its base.

use super::types::{Source, State, Status};
use crate::base::BaseStatus;

/// `status` with its base: `base-end-of-life` (source `base`) when it has no verdict of its
/// own above `supported` and the base's state passes on; `supported` (source `base`) when it
/// has no lifecycle data and its base is supported or scheduled.
pub(crate) fn with_base(mut status: Status, base: BaseStatus) -> Status {
    if matches!(status.state, State::Supported | State::Unknown) && base.passes_on() {
        status.state = State::BaseEndOfLife;
        status.source = Source::Base;
    } else if status.state == State::Unknown
        && matches!(base.state, State::Supported | State::Scheduled)
    {
        status.state = State::Supported;
        status.source = Source::Base;
    }
    status.base = Some(base);
    status
}
