//! `--dump` for S3: the SDK's requests and responses, as ferry_core::dump lays them out,
//! taken by an interceptor around each attempt (after signing, so what is shown is what
//! is sent; credentials hidden unless `auth`).

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::error::display::DisplayErrorContext;
use ferry_core::dump::Dump;

/// The attempt being dumped: its id and its request block.
#[derive(Debug, Clone)]
struct Attempt {
    id: u64,
    block: String,
    answered: bool,
}

impl Storable for Attempt {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug)]
pub(crate) struct DumpInterceptor(pub Dump);

impl Intercept for DumpInterceptor {
    fn name(&self) -> &'static str {
        "ferry --dump"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request();
        let id = Dump::next_id();
        let headers = req.headers().iter().map(|(k, v)| (k, v.as_bytes()));
        let block = self
            .0
            .request(id, req.method(), req.uri(), headers, req.body().bytes());
        cfg.interceptor_state().store_put(Attempt {
            id,
            block,
            answered: false,
        });
        Ok(())
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(attempt) = cfg.load::<Attempt>().cloned() else {
            return Ok(());
        };
        let res = context.response();
        let headers = res.headers().iter().map(|(k, v)| (k, v.as_bytes()));
        self.0.response(
            attempt.id,
            &attempt.block,
            Ok(res.status().as_u16()),
            headers,
            res.body().bytes(),
        );
        cfg.interceptor_state().store_put(Attempt {
            answered: true,
            ..attempt
        });
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // No answer at all (refused, timed out): the response block says so.
        if let Some(attempt) = cfg.load::<Attempt>().filter(|a| !a.answered) {
            if context.response().is_none() {
                let why = match context.output_or_error() {
                    Some(Err(e)) => DisplayErrorContext(e).to_string(),
                    _ => "no response".to_owned(),
                };
                self.0
                    .response(attempt.id, &attempt.block, Err(&why), [], None);
            }
        }
        Ok(())
    }
}
