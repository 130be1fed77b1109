// The loop-nest IR. Every node kind is named once, in the lists below; the kind enum, the visitor,
// the mutator and the printer's dispatch are generated from them. Nodes are immutable structs with
// public fields and a static make(); handles (Expr, Stmt) are ref-counted. Variables and buffers
// are identified by object (pointer identity), never by name: the printer makes names unique.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/layout.h"

namespace nasx::ir {

// Binary expression nodes, with the operator the printers use. Div and Mod on integers are floor
// division and its non-negative remainder (for a positive divisor), which is what index arithmetic
// over padded, strided convolutions needs; on floats Div is ordinary division.
#define NASX_IR_BINARY_NODES(X) \
  X(Add, "+")                   \
  X(Sub, "-")                   \
  X(Mul, "*")                   \
  X(Div, "/")                   \
  X(Mod, "%")                   \
  X(Min, "min")                 \
  X(Max, "max")                 \
  X(EQ, "==")                   \
  X(NE, "!=")                   \
  X(LT, "<")                    \
  X(LE, "<=")                   \
  X(And, "&&")                  \
  X(Or, "||")

// The other node kinds; the second field is unused and keeps one arity for every list.
#define NASX_IR_OTHER_EXPR_NODES(X) \
  X(IntImm, "")                     \
  X(FloatImm, "") X(Var, "") X(Not, "!") X(Select, "") X(Load, "") X(Call, "") X(Broadcast, "")

#define NASX_IR_STMT_NODES(X) \
  X(LetStmt, "") X(For, "") X(Store, "") X(IfThenElse, "") X(Block, "") X(Allocate, "")

#define NASX_IR_EXPR_NODES(X) NASX_IR_BINARY_NODES(X) NASX_IR_OTHER_EXPR_NODES(X)
#define NASX_IR_ALL_NODES(X) NASX_IR_EXPR_NODES(X) NASX_IR_STMT_NODES(X)

enum class NodeKind {
#define NASX_X(name, op) name,
  NASX_IR_ALL_NODES(NASX_X)
#undef NASX_X
};

const char* node_kind_name(NodeKind kind);

enum class ScalarKind { Int, Float, Bool };

// A scalar type, or a vector of `lanes` of them (only floats are vectors: the register tiles of
// the blocked kernel templates). Vector arithmetic is lane-wise; both operands have the same
// lanes (a scalar is widened with Broadcast).
struct Type {
  ScalarKind kind = ScalarKind::Int;
  int lanes = 1;
  static Type i64() { return {ScalarKind::Int}; }
  static Type f32(int lanes = 1) { return {ScalarKind::Float, lanes}; }
  static Type boolean() { return {ScalarKind::Bool}; }
  bool is_int() const { return kind == ScalarKind::Int && lanes == 1; }
  bool is_float() const { return kind == ScalarKind::Float && lanes == 1; }
  bool is_bool() const { return kind == ScalarKind::Bool && lanes == 1; }
  bool is_vector() const { return lanes > 1; }
  Type with_lanes(int n) const { return {kind, n}; }
  bool operator==(const Type& o) const { return kind == o.kind && lanes == o.lanes; }
};

struct IRNode {
  explicit IRNode(NodeKind k) : kind(k) {}
  virtual ~IRNode() = default;
  const NodeKind kind;
};

struct ExprNode : IRNode {
  ExprNode(NodeKind k, Type t) : IRNode(k), type(t) {}
  const Type type;
};

struct StmtNode : IRNode {
  using IRNode::IRNode;
};

// Ref-counted handle to an immutable expression.
class Expr {
 public:
  Expr() = default;
  Expr(std::shared_ptr<const ExprNode> n) : node_(std::move(n)) {}  // NOLINT: implicit by design
  Expr(int64_t v);                                                  // NOLINT: integer literal
  Expr(int v) : Expr(int64_t(v)) {}                                 // NOLINT
  bool defined() const { return node_ != nullptr; }
  const ExprNode* get() const { return node_.get(); }
  const ExprNode* operator->() const { return node_.get(); }
  Type type() const { return node_->type; }
  template <typename T>
  const T* as() const {
    return node_ && node_->kind == T::kNodeKind ? static_cast<const T*>(node_.get()) : nullptr;
  }
  bool same_as(const Expr& o) const { return node_ == o.node_; }

 private:
  std::shared_ptr<const ExprNode> node_;
};

class Stmt {
 public:
  Stmt() = default;
  Stmt(std::shared_ptr<const StmtNode> n) : node_(std::move(n)) {}  // NOLINT
  bool defined() const { return node_ != nullptr; }
  const StmtNode* get() const { return node_.get(); }
  const StmtNode* operator->() const { return node_.get(); }
  template <typename T>
  const T* as() const {
    return node_ && node_->kind == T::kNodeKind ? static_cast<const T*>(node_.get()) : nullptr;
  }
  bool same_as(const Stmt& o) const { return node_ == o.node_; }

 private:
  std::shared_ptr<const StmtNode> node_;
};

// A buffer: a named, typed, dense array with a (logical) shape, stored in `layout`. Identified by
// object.
struct BufferNode {
  std::string name;
  Type elem;
  std::vector<int64_t> shape;
  Layout layout;
  int64_t physical_size() const { return layout.physical_size(shape); }
};
using Buffer = std::shared_ptr<const BufferNode>;
Buffer make_buffer(std::string name, std::vector<int64_t> shape, Type elem = Type::f32(),
                   Layout layout = {});

template <NodeKind K, typename Base>
struct NodeBase : Base {
  static constexpr NodeKind kNodeKind = K;
  using Base::Base;
};

// ---- expressions ----

// An integer constant; with Type::boolean() it is the constant true (1) or false (0).
struct IntImm : NodeBase<NodeKind::IntImm, ExprNode> {
  int64_t value;
  IntImm(int64_t v, Type t = Type::i64()) : NodeBase(NodeKind::IntImm, t), value(v) {}
  static Expr make(int64_t v);
  static Expr make_bool(bool b);
};

struct FloatImm : NodeBase<NodeKind::FloatImm, ExprNode> {
  double value;
  FloatImm(double v) : NodeBase(NodeKind::FloatImm, Type::f32()), value(v) {}
  static Expr make(double v);
};

// A variable. Its name is a hint for printing; identity is the node itself.
struct Var : NodeBase<NodeKind::Var, ExprNode> {
  std::string name_hint;
  Var(std::string n, Type t) : NodeBase(NodeKind::Var, t), name_hint(std::move(n)) {}
  static Expr make(std::string name_hint, Type t = Type::i64());
};

template <NodeKind K>
struct BinaryNode : NodeBase<K, ExprNode> {
  Expr a, b;
  BinaryNode(Type t, Expr a_, Expr b_)
      : NodeBase<K, ExprNode>(K, t), a(std::move(a_)), b(std::move(b_)) {}
  static Expr make(Expr a, Expr b);
};
#define NASX_X(name, op) using name = BinaryNode<NodeKind::name>;
NASX_IR_BINARY_NODES(NASX_X)
#undef NASX_X

struct Not : NodeBase<NodeKind::Not, ExprNode> {
  Expr a;
  Not(Expr a_) : NodeBase(NodeKind::Not, Type::boolean()), a(std::move(a_)) {}
  static Expr make(Expr a);
};

struct Select : NodeBase<NodeKind::Select, ExprNode> {
  Expr condition, true_value, false_value;
  Select(Expr c, Expr t, Expr f)
      : NodeBase(NodeKind::Select, t.type()),
        condition(std::move(c)),
        true_value(std::move(t)),
        false_value(std::move(f)) {}
  static Expr make(Expr c, Expr t, Expr f);
};

// buffer[indices...]; one index per buffer dimension until storage flattening leaves one. With
// lanes > 1 it loads that many consecutive elements of the flattened buffer, starting at the
// element the indices name (the buffer's layout must make them consecutive: a blocked channel).
struct Load : NodeBase<NodeKind::Load, ExprNode> {
  Buffer buffer;
  std::vector<Expr> indices;
  int lanes;
  Load(Buffer b, std::vector<Expr> i, int l)
      : NodeBase(NodeKind::Load, b->elem.with_lanes(l)),
        buffer(std::move(b)),
        indices(std::move(i)),
        lanes(l) {}
  static Expr make(Buffer b, std::vector<Expr> indices, int lanes = 1);
};

// A scalar repeated in every lane of a vector.
struct Broadcast : NodeBase<NodeKind::Broadcast, ExprNode> {
  Expr value;
  int lanes;
  Broadcast(Expr v, int l)
      : NodeBase(NodeKind::Broadcast, v.type().with_lanes(l)), value(std::move(v)), lanes(l) {}
  static Expr make(Expr value, int lanes);
};

// A pure math function of the C library on floats (sqrt, exp, ...).
struct Call : NodeBase<NodeKind::Call, ExprNode> {
  std::string name;
  std::vector<Expr> args;
  Call(Type t, std::string n, std::vector<Expr> a)
      : NodeBase(NodeKind::Call, t), name(std::move(n)), args(std::move(a)) {}
  static Expr make(Type t, std::string name, std::vector<Expr> args);
};

// ---- statements ----

struct LetStmt : NodeBase<NodeKind::LetStmt, StmtNode> {
  Expr var, value;  // var is a Var
  Stmt body;
  LetStmt(Expr v, Expr val, Stmt b)
      : NodeBase{NodeKind::LetStmt}, var(std::move(v)), value(std::move(val)), body(std::move(b)) {}
  static Stmt make(Expr var, Expr value, Stmt body);
};

// How a loop runs. Serial is the default; the others are schedule decisions the emitter honours.
enum class ForKind { Serial, Parallel, Vectorized, Unrolled };
const char* for_kind_name(ForKind k);

// for (var = min; var < min + extent; ++var) body
struct For : NodeBase<NodeKind::For, StmtNode> {
  Expr var, min, extent;
  ForKind for_kind;
  Stmt body;
  For(Expr v, Expr m, Expr e, ForKind k, Stmt b)
      : NodeBase{NodeKind::For},
        var(std::move(v)),
        min(std::move(m)),
        extent(std::move(e)),
        for_kind(k),
        body(std::move(b)) {}
  static Stmt make(Expr var, Expr min, Expr extent, ForKind kind, Stmt body);
};

// A vector value stores its lanes to consecutive elements, like a vector Load reads them.
struct Store : NodeBase<NodeKind::Store, StmtNode> {
  Buffer buffer;
  std::vector<Expr> indices;
  Expr value;
  Store(Buffer b, std::vector<Expr> i, Expr v)
      : NodeBase{NodeKind::Store},
        buffer(std::move(b)),
        indices(std::move(i)),
        value(std::move(v)) {}
  static Stmt make(Buffer b, std::vector<Expr> indices, Expr value);
};

struct IfThenElse : NodeBase<NodeKind::IfThenElse, StmtNode> {
  Expr condition;
  Stmt then_case, else_case;  // else_case may be undefined
  IfThenElse(Expr c, Stmt t, Stmt e)
      : NodeBase{NodeKind::IfThenElse},
        condition(std::move(c)),
        then_case(std::move(t)),
        else_case(std::move(e)) {}
  static Stmt make(Expr c, Stmt then_case, Stmt else_case = Stmt());
};

struct Block : NodeBase<NodeKind::Block, StmtNode> {
  std::vector<Stmt> stmts;
  explicit Block(std::vector<Stmt> s) : NodeBase{NodeKind::Block}, stmts(std::move(s)) {}
  static Stmt make(std::vector<Stmt> stmts);
};

// A buffer local to `body` (scratch: im2col panels, register-tile accumulators). Its contents
// are undefined on entry. The emitter puts small ones on the stack, large ones on the heap.
struct Allocate : NodeBase<NodeKind::Allocate, StmtNode> {
  Buffer buffer;
  Stmt body;
  Allocate(Buffer b, Stmt s)
      : NodeBase{NodeKind::Allocate}, buffer(std::move(b)), body(std::move(s)) {}
  static Stmt make(Buffer b, Stmt body);
};

// ---- construction helpers ----

Expr operator+(Expr a, Expr b);
Expr operator-(Expr a, Expr b);
Expr operator*(Expr a, Expr b);
Expr operator/(Expr a, Expr b);  // floor division on integers
Expr operator%(Expr a, Expr b);
Expr operator<(Expr a, Expr b);
Expr operator<=(Expr a, Expr b);
Expr operator>(Expr a, Expr b);
Expr operator>=(Expr a, Expr b);
Expr operator&&(Expr a, Expr b);
Expr min(Expr a, Expr b);
Expr max(Expr a, Expr b);
Expr f32(double v);

// Value of an integer (or boolean) constant expression, if it is one.
const int64_t* as_const_int(const Expr& e);
const int64_t* as_const_bool(const Expr& e);
const double* as_const_float(const Expr& e);

}  // namespace nasx::ir
