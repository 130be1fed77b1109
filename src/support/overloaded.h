// Overloaded{lambda...}: one visitor for std::visit from a set of lambdas.
#pragma once

namespace nasx {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace nasx
