%% Term corpus for the ETF codec tests of @ergo-ts/erlang.
%% dump/0 prints every term as term_to_binary bytes (OTP's default and minor_version 2, and
%% compressed); mirror/1 sends every term to {mirror, Node} and expects it back exactly;
%% echo/0 answers {From, T} with {echo, T}; check/1 reads "Index WantHex GotHex" lines and tells whether the two decode to
%% exactly equal terms (=:=).
-module(etf_corpus).
-export([corpus/0, dump/0, check/1, mirror/1, echo/0]).

corpus() ->
    Y = erlang:phash2(node()),
    Closure = fun(X) -> X + Y end,
    Port = hd(erlang:ports()),
    [ok, true, false, undefined, '', [],
     0, 255, 256, -1, 2147483647, -2147483648, 2147483648, -2147483649,
     (1 bsl 53) - 1, 1 bsl 53, -(1 bsl 70), 1 bsl 2100, -(1 bsl 2100),
     1.5, 1.0, -0.0, 1.0e300, 3.141592653589793, -2.5e-300,
     <<"x">>, <<>>, <<5:3>>, <<1, 2, 3, 4:4>>, <<255:1>>,
     "abc", [1000], [1, 2, 3], [a | b], [1, 2 | 3], [[]], [[] | []],
     lists:seq(1, 300), lists:duplicate(70000, 7), "привет",
     {}, {ok, <<"x">>}, list_to_tuple(lists:seq(1, 300)),
     #{}, #{a => 1}, #{{x, y} => 1}, #{[1] => 2, #{a => b} => c, <<"k">> => [v]},
     maps:from_list([{N, N * N} || N <- lists:seq(1, 40)]),
     list_to_atom(lists:duplicate(255, $a)), 'привет_λ', 'UPPER case',
     fun lists:reverse/1, self(), make_ref(), Port, Closure,
     {'$gen_call', {self(), [alias | make_ref()]}, {add, 40, 2}},
     {'EXIT', self(), {shutdown, x}},
     binary:copy(<<"0123456789">>, 10000),
     lists:foldl(fun(_, A) -> [A] end, [], lists:seq(1, 100))].

dump() ->
    Terms = corpus(),
    lists:foreach(
      fun({I, T}) ->
              io:format("T ~b ~s ~s ~s~n",
                        [I, binary:encode_hex(term_to_binary(T, [{minor_version, 2}])),
                         binary:encode_hex(term_to_binary(T)),
                         binary:encode_hex(term_to_binary(T, [compressed]))])
      end, lists:zip(lists:seq(0, length(Terms) - 1), Terms)),
    io:format("END~n").

check(File) ->
    {ok, Bin} = file:read_file(File),
    Lines = [L || L <- binary:split(Bin, <<"\n">>, [global]), L =/= <<>>],
    lists:foreach(
      fun(L) ->
              [IB, Want, Hex] = binary:split(L, <<" ">>, [global]),
              I = binary_to_integer(IB),
              Got = try binary_to_term(binary:decode_hex(Hex)) catch C:E -> {decode_failed, C, E} end,
              case Got =:= binary_to_term(binary:decode_hex(Want)) of
                  true -> io:format("OK ~b~n", [I]);
                  false -> io:format("BAD ~b ~P~n", [I, Got, 12])
              end
      end, Lines),
    io:format("END~n").

mirror(Node) ->
    Terms = corpus(),
    Results = [begin
                   {mirror, Node} ! {self(), T},
                   receive {mirror, Back} -> Back =:= T after 5000 -> timeout end
               end || T <- Terms],
    Bad = [I || {I, R} <- lists:zip(lists:seq(0, length(Terms) - 1), Results), R =/= true],
    io:format("SUMMARY ~b/~b round-trips ok ~w~n", [length(Terms) - length(Bad), length(Terms), Bad]).

echo() ->
    receive {From, T} -> From ! {echo, T} end,
    echo().
