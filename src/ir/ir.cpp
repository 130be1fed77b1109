#include "ir/ir.h"

#include "support/error.h"

namespace nasx::ir {

const char* node_kind_name(NodeKind kind) {
  switch (kind) {
#define NASX_X(name, op) \
  case NodeKind::name:   \
    return #name;
    NASX_IR_ALL_NODES(NASX_X)
#undef NASX_X
  }
  return "?";
}

const char* for_kind_name(ForKind k) {
  switch (k) {
    case ForKind::Serial:
      return "for";
    case ForKind::Parallel:
      return "parallel";
    case ForKind::Vectorized:
      return "vectorized";
    case ForKind::Unrolled:
      return "unrolled";
  }
  return "?";
}

Buffer make_buffer(std::string name, std::vector<int64_t> shape, Type elem, Layout layout) {
  NASX_ASSERT(layout.fits(shape), "layout ", layout.to_string(), " of buffer ", name);
  return std::make_shared<const BufferNode>(
      BufferNode{std::move(name), elem, std::move(shape), layout});
}

Expr::Expr(int64_t v) : node_(std::make_shared<const IntImm>(v)) {}

Expr IntImm::make(int64_t v) {
  return Expr(std::make_shared<const IntImm>(v));
}
Expr IntImm::make_bool(bool b) {
  return Expr(std::make_shared<const IntImm>(b ? 1 : 0, Type::boolean()));
}
Expr FloatImm::make(double v) {
  return Expr(std::make_shared<const FloatImm>(v));
}
Expr Var::make(std::string name_hint, Type t) {
  return Expr(std::make_shared<const Var>(std::move(name_hint), t));
}

namespace {
// Result type of a binary node: comparisons and logic give bool, arithmetic keeps the operands'.
template <NodeKind K>
Type binary_type(const Expr& a, const Expr& b) {
  NASX_ASSERT(a.defined() && b.defined(), node_kind_name(K), " of an undefined operand");
  NASX_ASSERT(a.type() == b.type(), node_kind_name(K), " of mismatched operand types");
  switch (K) {
    case NodeKind::EQ:
    case NodeKind::NE:
    case NodeKind::LT:
    case NodeKind::LE:
      return Type::boolean();
    case NodeKind::And:
    case NodeKind::Or:
      NASX_ASSERT(a.type().is_bool(), "logical operator on non-bool operands");
      return Type::boolean();
    case NodeKind::Mod:
      NASX_ASSERT(a.type().is_int(), "% on non-integer operands");
      return a.type();
    default:
      return a.type();
  }
}
}  // namespace

template <NodeKind K>
Expr BinaryNode<K>::make(Expr a, Expr b) {
  Type t = binary_type<K>(a, b);
  return Expr(std::make_shared<const BinaryNode<K>>(t, std::move(a), std::move(b)));
}
#define NASX_X(name, op) template struct BinaryNode<NodeKind::name>;
NASX_IR_BINARY_NODES(NASX_X)
#undef NASX_X

Expr Not::make(Expr a) {
  NASX_ASSERT(a.defined() && a.type().is_bool());
  return Expr(std::make_shared<const Not>(std::move(a)));
}

Expr Select::make(Expr c, Expr t, Expr f) {
  NASX_ASSERT(c.defined() && c.type().is_bool(), "select condition must be bool");
  NASX_ASSERT(t.type() == f.type(), "select branches of different types");
  return Expr(std::make_shared<const Select>(std::move(c), std::move(t), std::move(f)));
}

Expr Load::make(Buffer b, std::vector<Expr> indices, int lanes) {
  NASX_ASSERT(b != nullptr && lanes >= 1 && b->elem.lanes == 1, "load from ", b->name);
  for (const Expr& i : indices) NASX_ASSERT(i.defined() && i.type().is_int(), "load index");
  return Expr(std::make_shared<const Load>(std::move(b), std::move(indices), lanes));
}

Expr Broadcast::make(Expr value, int lanes) {
  NASX_ASSERT(value.defined() && value.type().lanes == 1 && lanes > 1, "broadcast");
  return Expr(std::make_shared<const Broadcast>(std::move(value), lanes));
}

Expr Call::make(Type t, std::string name, std::vector<Expr> args) {
  return Expr(std::make_shared<const Call>(t, std::move(name), std::move(args)));
}

Stmt LetStmt::make(Expr var, Expr value, Stmt body) {
  NASX_ASSERT(var.as<Var>() && value.defined() && var.type() == value.type(), "let binding");
  return Stmt(std::make_shared<const LetStmt>(std::move(var), std::move(value), std::move(body)));
}

Stmt For::make(Expr var, Expr min, Expr extent, ForKind kind, Stmt body) {
  NASX_ASSERT(var.as<Var>() && var.type().is_int(), "loop variable must be an integer Var");
  NASX_ASSERT(min.type().is_int() && extent.type().is_int(), "loop bounds must be integers");
  NASX_ASSERT(body.defined(), "loop without a body");
  return Stmt(std::make_shared<const For>(std::move(var), std::move(min), std::move(extent), kind,
                                          std::move(body)));
}

Stmt Store::make(Buffer b, std::vector<Expr> indices, Expr value) {
  NASX_ASSERT(
      b != nullptr && value.defined() && value.type().kind == b->elem.kind && b->elem.lanes == 1,
      "store to ", b->name);
  for (const Expr& i : indices) NASX_ASSERT(i.defined() && i.type().is_int(), "store index");
  return Stmt(std::make_shared<const Store>(std::move(b), std::move(indices), std::move(value)));
}

Stmt IfThenElse::make(Expr c, Stmt then_case, Stmt else_case) {
  NASX_ASSERT(c.defined() && c.type().is_bool() && then_case.defined(), "if statement");
  return Stmt(
      std::make_shared<const IfThenElse>(std::move(c), std::move(then_case), std::move(else_case)));
}

Stmt Block::make(std::vector<Stmt> stmts) {
  std::vector<Stmt> flat;
  for (Stmt& s : stmts) {
    if (!s.defined()) continue;
    if (const Block* b = s.as<Block>()) {
      flat.insert(flat.end(), b->stmts.begin(), b->stmts.end());
    } else {
      flat.push_back(std::move(s));
    }
  }
  return Stmt(std::make_shared<const Block>(std::move(flat)));
}

Stmt Allocate::make(Buffer b, Stmt body) {
  NASX_ASSERT(b != nullptr && body.defined(), "allocate");
  return Stmt(std::make_shared<const Allocate>(std::move(b), std::move(body)));
}

Expr operator+(Expr a, Expr b) {
  return Add::make(std::move(a), std::move(b));
}
Expr operator-(Expr a, Expr b) {
  return Sub::make(std::move(a), std::move(b));
}
Expr operator*(Expr a, Expr b) {
  return Mul::make(std::move(a), std::move(b));
}
Expr operator/(Expr a, Expr b) {
  return Div::make(std::move(a), std::move(b));
}
Expr operator%(Expr a, Expr b) {
  return Mod::make(std::move(a), std::move(b));
}
Expr operator<(Expr a, Expr b) {
  return LT::make(std::move(a), std::move(b));
}
Expr operator<=(Expr a, Expr b) {
  return LE::make(std::move(a), std::move(b));
}
Expr operator>(Expr a, Expr b) {
  return LT::make(std::move(b), std::move(a));
}
Expr operator>=(Expr a, Expr b) {
  return LE::make(std::move(b), std::move(a));
}
Expr operator&&(Expr a, Expr b) {
  return And::make(std::move(a), std::move(b));
}
Expr min(Expr a, Expr b) {
  return Min::make(std::move(a), std::move(b));
}
Expr max(Expr a, Expr b) {
  return Max::make(std::move(a), std::move(b));
}
Expr f32(double v) {
  return FloatImm::make(v);
}

const int64_t* as_const_int(const Expr& e) {
  const IntImm* i = e.as<IntImm>();
  return i && i->type.is_int() ? &i->value : nullptr;
}
const int64_t* as_const_bool(const Expr& e) {
  const IntImm* i = e.as<IntImm>();
  return i && i->type.is_bool() ? &i->value : nullptr;
}
const double* as_const_float(const Expr& e) {
  const FloatImm* f = e.as<FloatImm>();
  return f ? &f->value : nullptr;
}

}  // namespace nasx::ir
