package main

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"path/filepath"
)

// consts holds the integer constants of x/sys/unix for one architecture, read from its generated sources
// (zerrors_linux*.go, ztypes_linux*.go) as text, so that both architectures are read on any host.
type consts struct {
	exprs map[string]ast.Expr
	vals  map[string]constant.Value
}

func loadConsts(dir, arch string) (*consts, error) {
	c := &consts{exprs: map[string]ast.Expr{}, vals: map[string]constant.Value{}}
	fset := token.NewFileSet()
	for _, name := range []string{"zerrors_linux.go", "zerrors_linux_" + arch + ".go", "ztypes_linux.go", "ztypes_linux_" + arch + ".go"} {
		f, err := parser.ParseFile(fset, filepath.Join(dir, "unix", name), nil, 0)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						c.exprs[n.Name] = vs.Values[i]
					}
				}
			}
		}
	}
	return c, nil
}

// value evaluates the named constant: integer literals, unary and binary operators, references to other
// constants and single-argument conversions (syscall.Signal(0x1)).
func (c *consts) value(name string) (int64, error) {
	v, err := c.eval(name, 0)
	if err != nil {
		return 0, err
	}
	n, ok := constant.Int64Val(constant.ToInt(v))
	if !ok {
		return 0, fmt.Errorf("%s is not a 64-bit integer", name)
	}
	return n, nil
}

func (c *consts) eval(name string, depth int) (constant.Value, error) {
	if v, ok := c.vals[name]; ok {
		return v, nil
	}
	e, ok := c.exprs[name]
	if !ok {
		return nil, fmt.Errorf("x/sys/unix has no constant %s", name)
	}
	if depth > 16 {
		return nil, fmt.Errorf("%s: constant refers to itself", name)
	}
	v, err := c.expr(e, depth+1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c.vals[name] = v
	return v, nil
}

func (c *consts) expr(e ast.Expr, depth int) (constant.Value, error) {
	switch e := e.(type) {
	case *ast.BasicLit:
		v := constant.MakeFromLiteral(e.Value, e.Kind, 0)
		if v.Kind() != constant.Int {
			return nil, fmt.Errorf("literal %s is not an integer", e.Value)
		}
		return v, nil
	case *ast.ParenExpr:
		return c.expr(e.X, depth)
	case *ast.Ident:
		return c.eval(e.Name, depth)
	case *ast.UnaryExpr:
		x, err := c.expr(e.X, depth)
		if err != nil {
			return nil, err
		}
		return constant.UnaryOp(e.Op, x, 0), nil
	case *ast.BinaryExpr:
		x, err := c.expr(e.X, depth)
		if err != nil {
			return nil, err
		}
		y, err := c.expr(e.Y, depth)
		if err != nil {
			return nil, err
		}
		if e.Op == token.SHL || e.Op == token.SHR {
			s, _ := constant.Uint64Val(y)
			return constant.Shift(x, e.Op, uint(s)), nil
		}
		return constant.BinaryOp(x, e.Op, y), nil
	case *ast.CallExpr:
		if len(e.Args) == 1 {
			return c.expr(e.Args[0], depth)
		}
	}
	return nil, fmt.Errorf("unsupported constant expression %T", e)
}
