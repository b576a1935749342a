%% Test driver for the node integration tests: starts echo and calc, prints "ready", then
%% evaluates one Erlang expression per stdin line ("Id Expr.") and prints "RESULT Id Value".
-module(ctl).
-export([start/0, echo_loop/0, eval_line/1, mirror/1, whoami/1]).

start() ->
    register(echo, spawn(fun echo_loop/0)),
    {ok, _} = calc_server:start(),
    io:format("ready~n"),
    loop().

loop() ->
    case io:get_line('') of
        eof -> halt();
        {error, _} -> halt();
        Line ->
            spawn(?MODULE, eval_line, [Line]),
            loop()
    end.

eval_line(Line) ->
    {Id, Rest} = lists:splitwith(fun(C) -> C =/= $\s end, string:trim(Line)),
    Value = try
                {ok, Toks, _} = erl_scan:string(Rest),
                {ok, Exprs} = erl_parse:parse_exprs(Toks),
                {value, V, _} = erl_eval:exprs(Exprs, []),
                V
            catch C:R -> {caught, C, R}
            end,
    io:format("RESULT ~s ~w~n", [Id, Value]).

echo_loop() ->
    receive
        {From, Ref, T} when is_pid(From) -> From ! {echo, Ref, T};
        {From, T} when is_pid(From) -> From ! {echo, T};
        _ -> ok
    end,
    echo_loop().

%% Sends every corpus term to {echo, Node} and returns the indices that did not come back
%% exactly (=:=).
mirror(Node) ->
    Corpus = etf_corpus:corpus(),
    [I || {I, T} <- lists:zip(lists:seq(1, length(Corpus)), Corpus),
          begin
              {echo, Node} ! {self(), T},
              receive {echo, T2} -> T2 =/= T after 5000 -> true end
          end].

%% The pid of the calc server on Node.
whoami(Node) -> gen_server:call({calc, Node}, whoami).
