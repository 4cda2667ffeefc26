"""rapporteringsomgångar, inloggningsförsök (gränsen delas av alla processer) och täckande index för listans filter

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CHILDREN = (
    ("insats_kommun", "ix_insats_kommun_kommun_kod", "ix_insats_kommun_kod_id", "kommun_kod"),
    ("insats_omrade", "ix_insats_omrade_regso_kod", "ix_insats_omrade_kod_id", "regso_kod"),
    ("insats_sektor", "ix_insats_sektor_sektor", "ix_insats_sektor_id", "sektor"),
    ("insats_problem", "ix_insats_problem_problem", "ix_insats_problem_id", "problem"),
)


def upgrade() -> None:
    op.create_table(
        "omgang",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namn", sa.String(length=200), nullable=False),
        sa.Column("period_fran", sa.Date(), nullable=False),
        sa.Column("period_till", sa.Date(), nullable=False),
        sa.Column("sista_dag", sa.Date(), nullable=True),
        sa.Column("enkat_id", sa.String(length=60), nullable=False),
        sa.Column("enkat", sa.JSON(), nullable=False),
        sa.Column("kommuner", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("oppnad", sa.DateTime(), nullable=False),
        sa.Column("oppnad_av", sa.String(length=100), nullable=False),
        sa.Column("stangd", sa.DateTime(), nullable=True),
        sa.Column("stangd_av", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("namn"),
    )
    op.create_index("ix_omgang_status", "omgang", ["status"])
    op.create_table(
        "omgang_svar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("omgang_id", sa.Integer(), nullable=False),
        sa.Column("kommun_kod", sa.String(length=4), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("svar", sa.JSON(), nullable=False),
        sa.Column("insatser", sa.JSON(), nullable=False),
        sa.Column("kommentar", sa.Text(), nullable=False),
        sa.Column("andrad", sa.DateTime(), nullable=False),
        sa.Column("andrad_av", sa.String(length=100), nullable=False),
        sa.Column("inskickad", sa.DateTime(), nullable=True),
        sa.Column("granskad", sa.DateTime(), nullable=True),
        sa.Column("granskad_av", sa.String(length=100), nullable=False),
        sa.Column("ogonblick", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["omgang_id"], ["omgang.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("omgang_id", "kommun_kod"),
    )
    op.create_index("ix_omgang_svar_omgang_id", "omgang_svar", ["omgang_id"])
    op.create_table(
        "omgang_handelse",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("omgang_id", sa.Integer(), nullable=False),
        sa.Column("kommun_kod", sa.String(length=4), nullable=True),
        sa.Column("tid", sa.DateTime(), nullable=False),
        sa.Column("vem", sa.String(length=100), nullable=False),
        sa.Column("handling", sa.String(length=40), nullable=False),
        sa.Column("andringar", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["omgang_id"], ["omgang.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_omgang_handelse_omgang_id", "omgang_handelse", ["omgang_id"])
    op.create_table(
        "inloggningsforsok",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nyckel", sa.String(length=120), nullable=False),
        sa.Column("tid", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inloggningsforsok_nyckel_tid", "inloggningsforsok", ["nyckel", "tid"])
    op.create_index("ix_insats_status_namn", "insats", ["status", "namn", "id"])
    for table, old, new, column in CHILDREN:
        op.drop_index(old, table_name=table)
        op.create_index(new, table, [column, "insats_id"])


def downgrade() -> None:
    for table, old, new, column in CHILDREN:
        op.drop_index(new, table_name=table)
        op.create_index(old, table, [column])
    op.drop_index("ix_insats_status_namn", table_name="insats")
    op.drop_table("inloggningsforsok")
    op.drop_table("omgang_handelse")
    op.drop_table("omgang_svar")
    op.drop_table("omgang")
