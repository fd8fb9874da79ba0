import functools

import pytest

from simple_worker.domain._errors import PayloadMismatch, UnsupportedHandler
from simple_worker.domain._signature import HandlerSignature, async_kind, is_coroutine_handler


def plain(a, b):
    pass


def keyword_only(*, a, b=1):
    pass


def defaulted(a, b=2, c=None):
    pass


def with_kwargs(a, **extra):
    pass


def positional_only(a, b, /, c):
    pass


def with_args(a, *rest):
    pass


def only_kwargs(**extra):
    pass


class Handlers:
    def method(self, a, b=1):
        pass


class CallableHandler:
    def __call__(self, a):
        pass


class Uninspectable:
    __signature__ = "not a signature"

    def __call__(self, a):
        pass


def signature_of(handler) -> HandlerSignature:
    return HandlerSignature.of("send_email", handler)


def mismatch(handler, payload) -> PayloadMismatch:
    with pytest.raises(PayloadMismatch) as caught:
        signature_of(handler).check(payload)
    return caught.value


def test_of_a_plain_function_requires_every_parameter():
    assert signature_of(plain) == HandlerSignature(
        task_name="send_email",
        required=frozenset({"a", "b"}),
        optional=frozenset(),
        takes_any_keyword=False,
    )


def test_of_a_keyword_only_function_splits_required_and_optional():
    signature = signature_of(keyword_only)
    assert signature.required == {"a"}
    assert signature.optional == {"b"}
    assert signature.takes_any_keyword is False


def test_of_a_function_with_defaults_makes_defaulted_parameters_optional():
    signature = signature_of(defaulted)
    assert signature.required == {"a"}
    assert signature.optional == {"b", "c"}


def test_of_a_function_with_kwargs_takes_any_keyword():
    signature = signature_of(with_kwargs)
    assert signature.required == {"a"}
    assert signature.optional == frozenset()
    assert signature.takes_any_keyword is True


def test_of_a_bound_method_leaves_out_self():
    signature = signature_of(Handlers().method)
    assert signature.required == {"a"}
    assert signature.optional == {"b"}


def test_of_a_callable_object_reads_its_call_method():
    assert signature_of(CallableHandler()).required == {"a"}


def test_of_a_partial_makes_bound_arguments_optional():
    signature = signature_of(functools.partial(plain, b=2))
    assert signature.required == {"a"}
    assert signature.optional == {"b"}


def test_of_refuses_positional_only_parameters_and_names_them():
    with pytest.raises(UnsupportedHandler) as caught:
        signature_of(positional_only)
    error = caught.value
    assert error.task_name == "send_email"
    assert error.parameters == ("a", "b")
    assert error.reason == "it has positional-only parameters"
    assert "'send_email'" in str(error)
    assert "(a, b)" in str(error)


def test_of_refuses_star_args_and_names_the_parameter():
    with pytest.raises(UnsupportedHandler) as caught:
        signature_of(with_args)
    error = caught.value
    assert error.task_name == "send_email"
    assert error.parameters == ("*rest",)
    assert error.reason == "it takes *args"
    assert "*rest" in str(error)


@pytest.mark.parametrize("handler", [Uninspectable(), 5])
def test_of_refuses_a_handler_whose_signature_cannot_be_inspected(handler):
    with pytest.raises(UnsupportedHandler) as caught:
        signature_of(handler)
    error = caught.value
    assert error.task_name == "send_email"
    assert "cannot be inspected (" in error.reason
    assert error.parameters == ()
    assert isinstance(error.__cause__, TypeError)


def test_check_accepts_a_payload_with_exactly_the_parameters():
    signature_of(plain).check({"a": 1, "b": 2})


def test_check_accepts_a_payload_that_omits_optional_parameters():
    signature_of(defaulted).check({"a": 1})


def test_check_accepts_a_payload_with_some_optional_parameters():
    signature_of(defaulted).check({"a": 1, "c": 3})


def test_check_refuses_a_payload_missing_required_parameters_and_lists_them():
    error = mismatch(defaulted, {"b": 1})
    assert error.missing == ("a",)
    assert error.unexpected == ()
    assert "missing a" in str(error)
    assert "unexpected" not in str(error)


def test_check_lists_every_missing_parameter_sorted():
    error = mismatch(plain, {})
    assert error.missing == ("a", "b")
    assert "missing a, b" in str(error)


def test_check_refuses_unexpected_keys_and_lists_them():
    error = mismatch(plain, {"a": 1, "b": 2, "c": 3, "bb": 4})
    assert error.missing == ()
    assert error.unexpected == ("bb", "c")
    assert "unexpected bb, c" in str(error)
    assert "missing" not in str(error)


def test_check_refuses_a_typo_rather_than_running_with_the_default():
    error = mismatch(keyword_only, {"a": 1, "bb": 2})
    assert error.unexpected == ("bb",)


def test_check_lists_missing_and_unexpected_at_once():
    error = mismatch(plain, {"a": 1, "c": 3})
    assert error.missing == ("b",)
    assert error.unexpected == ("c",)
    assert "missing b; unexpected c" in str(error)


def test_check_with_kwargs_accepts_any_extra_key():
    signature_of(with_kwargs).check({"a": 1, "anything": 2, "else": [3]})


def test_check_with_only_kwargs_accepts_an_empty_payload():
    signature_of(only_kwargs).check({})


def test_check_with_kwargs_still_requires_the_named_parameters():
    error = mismatch(with_kwargs, {"anything": 2})
    assert error.missing == ("a",)
    assert error.unexpected == ()


def test_check_error_names_the_task():
    with pytest.raises(PayloadMismatch) as caught:
        HandlerSignature.of("billing.charge", plain).check({})
    assert caught.value.task_name == "billing.charge"
    assert "task 'billing.charge'" in str(caught.value)


async def coroutine_function(a):
    pass


async def async_generator_function(a):
    yield a


class AsyncCallableHandler:
    async def __call__(self, a):
        pass


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (coroutine_function, "it is a coroutine function (async def)"),
        (functools.partial(coroutine_function, a=1), "it is a coroutine function (async def)"),
        (
            AsyncCallableHandler(),
            "it is an object whose __call__ is a coroutine function (async def)",
        ),
    ],
    ids=["async def", "a partial of one", "an async __call__"],
)
def test_of_accepts_a_coroutine_handler_and_async_kind_says_what_makes_it_async(handler, reason):
    assert signature_of(handler).takes("a")
    assert is_coroutine_handler(handler)
    assert f"it is {async_kind(handler)}" == reason


def test_of_refuses_an_async_generator_function_saying_its_body_would_never_run():
    with pytest.raises(UnsupportedHandler) as caught:
        signature_of(async_generator_function)
    assert caught.value.reason == (
        "it is an async generator function (async def with yield): calling it would only "
        "make an async generator, and its body would never run"
    )
    assert not is_coroutine_handler(async_generator_function)


@pytest.mark.parametrize(
    "handler", [plain, Handlers().method, CallableHandler(), functools.partial(plain, b=1)]
)
def test_async_kind_of_a_synchronous_handler_is_none(handler):
    assert async_kind(handler) is None


def _generator(a):
    yield a


class _GeneratorCall:
    def __call__(self, a):
        yield a


@pytest.mark.parametrize(
    "handler",
    [_generator, functools.partial(_generator), _GeneratorCall()],
    ids=["generator function", "partial of one", "object whose __call__ yields"],
)
def test_a_generator_function_is_refused_since_its_body_would_never_run(handler):
    with pytest.raises(UnsupportedHandler, match=r"generator function.*never run"):
        HandlerSignature.of("t", handler)


def test_a_plain_function_returning_a_list_is_accepted():
    HandlerSignature.of("t", lambda a: [a])
