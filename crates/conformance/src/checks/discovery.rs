//! Content discovery: the tags list with `n`, `last` and `Link`; the
//! referrers API (pushes before and after the subject, `OCI-Subject`,
//! listing, annotations, `artifactType`, filtering, a missing subject);
//! and the `/v2/_catalog` extension.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Bad, Check, Ctx, Recorder, StepError, ensure, fail, needs, want};
use crate::Group;
use crate::content::{self, Blob, Manifest};
use crate::http::{Resp, enc, next_link};

mod catalog;
mod referrers;
mod tags;
use catalog::*;
use referrers::*;
use tags::*;

pub async fn run(cx: &Ctx, rec: &mut Recorder) {
    tags(cx, rec).await;
    referrers(cx, rec).await;
    catalog(cx, rec).await;
}
