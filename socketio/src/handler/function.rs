//! The one handler model: a function of extractors and event arguments, whose return value
//! ends the call. Plain `async fn`s and closures registered by hand implement [`Handler`]
//! through the impls below; the attribute macros generate the same extraction inline.

use std::future::Future;

use super::call::{BoxFuture, Call, ServerSide, Side};
use super::extract::FromCall;
use super::output::HandlerOutput;

/// A handler of kind `K` (see [`kind`](super::kind)) for side `S`: any `Fn` (an `async fn`,
/// or a closure returning a future) whose parameters are all [`FromCall`], extractors
/// first, then event arguments, and whose output fits the kind ([`HandlerOutput`]). `P`
/// records how each parameter is taken; it is inferred, never written.
///
/// Parameters follow the rules of macro handlers (see [the module](super)): a closure names
/// their types, since nothing else tells them.
///
/// ```
/// use std::sync::Arc;
/// use socketio::handler::{HandlerError, State};
/// use socketio::{Socket, SocketIo};
///
/// #[derive(Clone)]
/// struct Prices { euro_cents: u64 }
///
/// async fn quote(State(prices): State<Prices>, items: u64) -> Result<u64, HandlerError> {
///     items
///         .checked_mul(prices.euro_cents)
///         .ok_or_else(|| HandlerError::new("too many items"))
/// }
///
/// let io = SocketIo::builder()
///     .state(Prices { euro_cents: 250 })
///     .namespace("/shop", |ns| {
///         ns.on("quote", quote)
///             .on("hello", |socket: Arc<Socket>, name: String| async move {
///                 format!("hello {name}, you are {}", socket.sid())
///             })
///     })
///     .build()
///     .unwrap();
/// # let _ = io;
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a handler of this kind",
    label = "not a handler",
    note = "a handler is an `async fn` or a closure returning a future; each parameter must be an extractor or a `serde::Deserialize` event argument (a closure names their types)",
    note = "event handlers return their ack (`()`, a `Serialize` value, a tuple, a `Result`); connect handlers return `()`, `bool` or `Result<(), ConnectError>`; others return `()`"
)]
pub trait Handler<P, K, S: Side = ServerSide>: Send + Sync + 'static {
    /// Takes the parameters from the call, runs the handler, and ends the call with its
    /// return value. A parameter that cannot be taken ends the call instead, as
    /// [`Call::reject`] says.
    fn call(&self, call: Call<S>) -> BoxFuture;
}

macro_rules! handler_for_functions {
    ($($param:ident: $ty:ident via $via:ident),*) => {
        impl<F, Fut, K, S, $($ty, $via),*> Handler<($(($via, $ty),)*), K, S> for F
        where
            F: Fn($($ty),*) -> Fut + Send + Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: HandlerOutput<K, S>,
            S: Side,
            $($ty: FromCall<$via, S>,)*
        {
            #[allow(unused_mut)]
            fn call(&self, mut call: Call<S>) -> BoxFuture {
                $(
                    let $param = match <$ty as FromCall<$via, S>>::from_call(&mut call) {
                        Ok(value) => value,
                        Err(error) => return Box::pin(std::future::ready(call.reject(error))),
                    };
                )*
                let running = self($($param),*);
                Box::pin(async move { running.await.finish(call) })
            }
        }
    };
}

handler_for_functions!();
handler_for_functions!(a: A via MA);
handler_for_functions!(a: A via MA, b: B via MB);
handler_for_functions!(a: A via MA, b: B via MB, c: C via MC);
handler_for_functions!(a: A via MA, b: B via MB, c: C via MC, d: D via MD);
handler_for_functions!(a: A via MA, b: B via MB, c: C via MC, d: D via MD, e: E via ME);
handler_for_functions!(
    a: A via MA, b: B via MB, c: C via MC, d: D via MD, e: E via ME, f: G via MG
);
handler_for_functions!(
    a: A via MA, b: B via MB, c: C via MC, d: D via MD, e: E via ME, f: G via MG, g: H via MH
);
handler_for_functions!(
    a: A via MA, b: B via MB, c: C via MC, d: D via MD, e: E via ME, f: G via MG, g: H via MH,
    h: I via MI
);
handler_for_functions!(
    a: A via MA, b: B via MB, c: C via MC, d: D via MD, e: E via ME, f: G via MG, g: H via MH,
    h: I via MI, i: J via MJ
);
handler_for_functions!(
    a: A via MA, b: B via MB, c: C via MC, d: D via MD, e: E via ME, f: G via MG, g: H via MH,
    h: I via MI, i: J via MJ, j: L via ML
);
