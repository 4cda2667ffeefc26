"""effektskattningar: what `utanforskap effekt --spara` adds to an evaluation

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('effektskattning',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('utvardering_id', sa.Integer(), nullable=False),
    sa.Column('skattare', sa.String(length=40), nullable=False),
    sa.Column('paket', sa.String(length=60), nullable=False),
    sa.Column('paketversion', sa.String(length=40), nullable=False),
    sa.Column('utfall', sa.String(length=300), nullable=False),
    sa.Column('riktning', sa.String(length=20), nullable=False),
    sa.Column('niva', sa.String(length=10), nullable=False),
    sa.Column('ar_fran', sa.Integer(), nullable=False),
    sa.Column('ar_till', sa.Integer(), nullable=False),
    sa.Column('jamforelse', sa.String(length=30), nullable=False),
    sa.Column('p_varde', sa.Float(), nullable=True),
    sa.Column('antal_behandlade', sa.Integer(), nullable=False),
    sa.Column('antal_jamforelse', sa.Integer(), nullable=False),
    sa.Column('fortrend_p', sa.Float(), nullable=True),
    sa.Column('placebo_i_tid_p', sa.Float(), nullable=True),
    sa.Column('mde', sa.Float(), nullable=True),
    sa.Column('datakalla', sa.String(length=500), nullable=False),
    sa.Column('etikett', sa.String(length=200), nullable=False),
    sa.Column('evidensgrad', sa.String(length=30), nullable=False),
    sa.Column('evidensregel', sa.String(length=60), nullable=False),
    sa.Column('begransningar', sa.JSON(), nullable=False),
    sa.Column('bedomning', sa.Text(), nullable=False),
    sa.Column('sparad_av', sa.String(length=100), nullable=False),
    sa.Column('skapad', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['utvardering_id'], ['utvardering.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('utvardering_id')
    )


def downgrade() -> None:
    op.drop_table('effektskattning')
